import { strict as assert } from "node:assert";
import { test } from "node:test";

import { PlaceTracker, WARM_NOTIFICATION, warmParams } from "../../src/core/requests";

test("typing on a line is not a move; another line or another document is", () => {
  const places = new PlaceTracker();
  assert.equal(places.moved("file:///a.py", 3), true); // the file opened
  assert.equal(places.moved("file:///a.py", 3), false); // typing on the line
  assert.equal(places.moved("file:///a.py", 4), true); // Enter, or an arrow key
  assert.equal(places.moved("file:///b.py", 4), true); // another document, same line number
  places.reset();
  assert.equal(places.moved("file:///b.py", 4), true);
});

test("the warm notification carries the document and the cursor as the server reads them", () => {
  assert.equal(WARM_NOTIFICATION, "copilotIndex/warm");
  assert.deepEqual(warmParams("file:///a.py", 1, 11), {
    textDocument: { uri: "file:///a.py" },
    position: { line: 1, character: 11 },
  });
});
