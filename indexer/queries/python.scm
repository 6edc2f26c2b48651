; Definition-level chunks for Python.
; Capture the definition node as @definition.<kind> and its name as @name.
; Decorators are picked up by the chunker through the enclosing decorated_definition.

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function
