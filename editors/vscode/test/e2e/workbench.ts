// What a person does in the VS Code workbench, through Playwright: the command palette, quick picks and
// input boxes, the editor, the status bar, notifications and the Settings editor. The selectors are the
// workbench's own DOM classes (VS Code 1.96).
import type { Locator, Page } from "playwright-core";

const QUICK_INPUT = ".quick-input-widget";
const EDITOR = ".editor-group-container.active .monaco-editor";

/** Polls `read()` until `done(value)`; throws `what` with the last value after `seconds`. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  seconds: number,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${String(seconds)} s waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

/** Editor text as the DOM shows it: non-breaking spaces back to spaces. */
function plain(text: string): string {
  return text.replace(/\u00a0/g, " ");
}

export class Workbench {
  constructor(readonly page: Page) {}

  async load(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.locator(".monaco-workbench .part.statusbar").waitFor({ timeout: 60_000 });
  }

  /** The text of a status bar item, by its id (`<publisher>.<extension>.<item id>` for extensions). */
  async statusBarText(id: string): Promise<string> {
    const item = this.page.locator(`.part.statusbar [id="${id}"]`);
    return (await item.count()) > 0 ? plain(await item.innerText()).trim() : "";
  }

  /** Opens the command palette filtered by `filter` and answers the labels of its entries. */
  async paletteEntries(filter: string): Promise<string[]> {
    await this.openPalette(filter);
    const rows = this.quickInputRows();
    await rows.first().waitFor();
    const labels = await rows.locator(".label-name").allInnerTexts();
    await this.page.keyboard.press("Escape");
    return labels.map(plain);
  }

  /** Runs a command from the palette by its full title, e.g. "copilot-index: Search Codebase". */
  async runCommand(title: string): Promise<void> {
    await this.openPalette(title);
    const row = this.quickInputRows().filter({ has: this.page.getByText(title, { exact: true }) });
    await row.first().waitFor();
    await row.first().click();
  }

  private async openPalette(filter: string): Promise<void> {
    await this.page.keyboard.press("Control+Shift+P");
    const input = this.quickInputBox();
    await input.waitFor();
    await input.fill(`>${filter}`);
  }

  quickInputBox(): Locator {
    return this.page.locator(`${QUICK_INPUT} .quick-input-box input`);
  }

  quickInputRows(): Locator {
    return this.page.locator(`${QUICK_INPUT} .monaco-list-row`);
  }

  async quickInputTitle(): Promise<string> {
    const title = this.page.locator(`${QUICK_INPUT} .quick-input-title`);
    return (await title.isVisible()) ? plain(await title.innerText()) : "";
  }

  /** The accessible labels of the quick pick's rows (label, description and detail). */
  async quickPickItems(): Promise<string[]> {
    return (await this.quickInputRows().evaluateAll((rows) => rows.map((r) => r.getAttribute("aria-label") ?? ""))).map(
      plain,
    );
  }

  /** Opens a file from the Explorer. */
  async openFromExplorer(name: string): Promise<void> {
    await this.page.locator(".explorer-folders-view .monaco-list-row", { hasText: name }).first().click();
    await this.page.locator(".tab.active", { hasText: name }).waitFor();
    await this.page.locator(EDITOR).waitFor();
  }

  async activateTab(name: string): Promise<void> {
    await this.page.locator(".tabs-container .tab", { hasText: name }).first().click();
    await this.page.locator(".tab.active", { hasText: name }).waitFor();
  }

  async activeTab(): Promise<string> {
    return plain(await this.page.locator(".tab.active .label-name").first().innerText());
  }

  /** "Ln 4, Col 1" from the status bar. */
  async cursorPosition(): Promise<string> {
    return this.statusBarText("status.editor.selection");
  }

  /** Puts the cursor at the end of line `line` (1-based) with Go to Line. */
  async goToLine(line: number): Promise<void> {
    await this.page.locator(`${EDITOR} .view-lines`).click();
    await this.page.keyboard.press("Control+g");
    await this.quickInputBox().waitFor();
    await this.page.keyboard.type(String(line));
    await this.page.keyboard.press("Enter");
    await this.page.keyboard.press("End");
  }

  /** Replaces the text of the cursor's line after its indentation, typing `text` key by key. */
  async retypeLine(text: string): Promise<void> {
    await this.page.keyboard.press("End");
    await this.page.keyboard.press("Shift+Home");
    await this.page.keyboard.type(text, { delay: 20 });
  }

  /** The document's lines on screen, top to bottom, without the ghost text drawn into them. */
  async visibleLines(): Promise<string[]> {
    const lines = await this.page.locator(`${EDITOR} .view-lines .view-line`).evaluateAll((elements) =>
      elements
        .map((e) => {
          const copy = e.cloneNode(true) as HTMLElement;
          copy.querySelectorAll("[class*='ghost-text']").forEach((ghost) => {
            ghost.remove();
          });
          return { top: parseFloat((e as HTMLElement).style.top || "0"), text: copy.textContent };
        })
        .sort((a, b) => a.top - b.top)
        .map((l) => l.text),
    );
    return lines.map(plain);
  }

  /** The inline suggestion on screen: its part on the cursor's line, then its further lines. */
  async ghostText(): Promise<string[]> {
    const inline = await this.page.locator(`${EDITOR} .ghost-text-decoration`).allTextContents();
    const below = await this.page.locator(`${EDITOR} .ghost-text .view-line`).allTextContents();
    return inline.length === 0 && below.length === 0 ? [] : [inline.join(""), ...below].map(plain);
  }

  /** The text of the notifications on screen. */
  async notifications(): Promise<string[]> {
    return (await this.page.locator(".notifications-toasts .notification-list-item-message").allInnerTexts()).map(plain);
  }

  /** Shows one setting in the Settings editor; answers its checkbox (for a boolean setting). */
  async settingCheckbox(id: string): Promise<Locator> {
    await this.page.keyboard.press("Control+Comma");
    await this.page.locator(".settings-editor").waitFor();
    await this.page.keyboard.type(id);
    const item = this.page.locator(".settings-editor .setting-item-bool").filter({ hasText: id.split(".").pop() ?? id });
    const box = item.first().locator(".setting-value-checkbox");
    await box.waitFor();
    return box;
  }
}
