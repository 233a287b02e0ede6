import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE } from "../../json/char-codes.ts";

/**
 * Cuts a JSON text that arrives in pieces into its top-level objects as each one completes: the elements of an
 * array (`[{…},{…}]`, what `:streamGenerateContent` sends without `alt=sse`) or a single object. It tracks only
 * string/escape state and nesting depth, one character at a time, and keeps just the unfinished element.
 */
export class JsonElementSplitter {
  readonly #onElement: (json: string) => void;
  /** Depth at which an element starts: 2 inside a top-level array, 1 for a lone object. */
  #elementDepth = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;
  #parts: string[] = [];
  #inElement = false;

  constructor(onElement: (json: string) => void) {
    this.#onElement = onElement;
  }

  push(text: string): void {
    let segmentStart = this.#inElement ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === BACKSLASH) this.#escaped = true;
        else if (c === QUOTE) this.#inString = false;
        continue;
      }
      if (c === QUOTE) {
        this.#inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (this.#elementDepth === 0) this.#elementDepth = c === OPEN_BRACKET ? 2 : 1;
        this.#depth++;
        if (this.#depth === this.#elementDepth && c === OPEN_BRACE) {
          this.#inElement = true;
          segmentStart = i;
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.#depth--;
        if (this.#inElement && this.#depth === this.#elementDepth - 1) {
          this.#parts.push(text.slice(segmentStart, i + 1));
          const element = this.#parts.join("");
          this.#parts = [];
          this.#inElement = false;
          segmentStart = -1;
          this.#onElement(element);
        }
      }
    }
    if (this.#inElement && segmentStart !== -1) this.#parts.push(text.slice(segmentStart));
  }
}
