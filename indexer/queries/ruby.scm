; Definition-level chunks for Ruby. `#` comments directly above are added by the chunker.

(class
  name: (_) @name) @definition.class

(module
  name: (_) @name) @definition.namespace

(singleton_class
  value: (_) @name) @definition.class

(method
  name: (_) @name) @definition.function

(singleton_method
  name: (_) @name) @definition.function
