; A spec of the JavaScript test runners (mocha, jest, jasmine, QUnit): a call whose first argument is a title
; string and whose second is the function that runs it, e.g.
;   it('sets the Authorization header', () => { ... })      describe('req.auth(user, pass)', function () { ... })
; `specs.py` keeps the calls named like a test (`it`, `test`, `QUnit.test`, ...) or a group (`describe`,
; `context`, ...); a spec's groups are the group calls whose function contains it.

(call_expression
  function: [(identifier) (member_expression)] @runner
  arguments: (arguments
    .
    [(string) (template_string)] @title
    .
    [(arrow_function) (function_expression)] @body)) @spec

; QUnit.module('utils/deprecate', { beforeEach() { ... } }, function () { ... }): a group with hooks first
(call_expression
  function: (member_expression) @runner
  arguments: (arguments
    .
    [(string) (template_string)] @title
    .
    (object)
    .
    [(arrow_function) (function_expression)] @body)) @spec
