; Definition-level chunks for Python.
; Capture the definition node as @definition.<kind> and its name as @name.
; Decorators are picked up by the chunker through the enclosing decorated_definition.

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

; A typing `@overload` signature: the chunker joins it to the next definition of the same name (its
; implementation), so that one chunk holds the signatures and the code they describe.
(decorated_definition
  (decorator [(identifier) (attribute)] @overload (#match? @overload "^([A-Za-z_][A-Za-z0-9_]*[.])*overload$"))
  definition: (function_definition
    name: (identifier) @name) @definition.function)

; A property's `@name.setter` (or `.getter`, `.deleter`): the chunker joins it to the definition of the same
; name before it, so that the property and its setter make one chunk.
(decorated_definition
  (decorator (attribute) @accessor (#match? @accessor "^[A-Za-z_][A-Za-z0-9_]*[.](setter|getter|deleter)$"))
  definition: (function_definition
    name: (identifier) @name) @definition.function)
