; Definition-level chunks for JavaScript (also used for JSX).

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

(class_declaration
  name: (identifier) @name) @definition.class

(class_body
  (method_definition
    name: (_) @name) @definition.method)

(class_body
  (field_definition
    property: (property_identifier) @name
    value: [(arrow_function) (function_expression)]) @definition.method)

; const handler = (req) => { ... }   /   let f = function () { ... }
(program
  (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function) (function_expression) (generator_function)])) @definition.function)

(program
  (variable_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function) (function_expression) (generator_function)])) @definition.function)

(export_statement
  (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function) (function_expression) (generator_function)])) @definition.function)

; CommonJS and prototype style: exports.parse = function (str) { ... }   /   app.handle = function handle() { ... }
(program
  (expression_statement
    (assignment_expression
      left: (member_expression) @name
      right: [(arrow_function) (function_expression) (generator_function)])) @definition.function)

; module.exports = function currentMedia () { ... }: the module's one export is named after its function
; (`@alias` replaces the name the pattern above gives it, `module.exports`, which every such module shares)
(program
  (expression_statement
    (assignment_expression
      left: (member_expression) @_target
      right: [(function_expression name: (identifier) @alias) (generator_function name: (identifier) @alias)])) @definition.function
  (#eq? @_target "module.exports"))
