; Definition-level chunks for C#. Attributes ([...]) sit inside each declaration;
; `///` doc comments directly above are added by the chunker.

(namespace_declaration
  name: (_) @name) @definition.namespace

(class_declaration
  name: (identifier) @name) @definition.class

(record_declaration
  name: (identifier) @name) @definition.class

(struct_declaration
  name: (identifier) @name) @definition.struct

(interface_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(method_declaration
  name: (identifier) @name) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.method

(property_declaration
  name: (identifier) @name
  accessors: (accessor_list)) @definition.method

(local_function_statement
  name: (identifier) @name) @definition.function
