; Definition-level chunks for Rust.
; Attributes (#[...]) and doc comments (///) directly above are added by the chunker.

(function_item
  name: (identifier) @name) @definition.function

(function_signature_item
  name: (identifier) @name) @definition.function

(struct_item
  name: (type_identifier) @name) @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(union_item
  name: (type_identifier) @name) @definition.struct

(trait_item
  name: (type_identifier) @name) @definition.trait

(impl_item
  type: [(type_identifier) @name
         (generic_type type: (type_identifier) @name)
         (scoped_type_identifier name: (type_identifier) @name)]) @definition.impl

(mod_item
  name: (identifier) @name
  body: (declaration_list)) @definition.namespace

(macro_definition
  name: (identifier) @name) @definition.function
