/**
 * Where a config text stops being JSON, told by line, column and kind of error only: the
 * engine's own message quotes the text, and a config holds secrets (api_key).
 *
 * @module
 */

/** A syntax error of a JSON text. */
export interface JsonSyntaxError {
  /** 1-based line. */
  line: number;
  /** 1-based column (UTF-16 units). */
  column: number;
  /** What is wrong, in words that never quote the text. */
  kind: string;
}

const WS = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

/** The first syntax error of `text` (null when it is valid JSON). Iterative: any depth. */
export function jsonSyntaxError(text: string): JsonSyntaxError | null {
  const stack: string[] = [];
  let i = 0;
  let state: "value" | "valueOrClose" | "keyOrClose" | "key" | "colon" | "after" = "value";
  const fail = (kind: string): JsonSyntaxError =>
    at(text, i, i >= text.length ? "unexpected end of the file" : kind);
  for (;;) {
    while (i < text.length && WS.has(text[i])) i++;
    if (state === "after" && stack.length === 0) {
      return i < text.length ? fail("unexpected characters after the end of the JSON value") : null;
    }
    if (i >= text.length) return fail("");
    const c = text[i];
    switch (state) {
      case "valueOrClose":
      case "value":
        if (state === "valueOrClose" && c === "]") {
          stack.pop();
          i++;
          state = "after";
        } else if (c === "{" || c === "[") {
          stack.push(c);
          i++;
          state = c === "{" ? "keyOrClose" : "valueOrClose";
        } else if (c === '"') {
          const err = string();
          if (err !== null) return err;
          state = "after";
        } else if (c === "-" || (c >= "0" && c <= "9")) {
          NUMBER.lastIndex = i;
          if (!NUMBER.test(text)) return fail("malformed number");
          i = NUMBER.lastIndex;
          state = "after";
        } else {
          const word = ["true", "false", "null"].find((w) => text.startsWith(w, i));
          if (word === undefined) return fail("unexpected character where a value should be");
          i += word.length;
          state = "after";
        }
        break;
      case "keyOrClose":
      case "key":
        if (state === "keyOrClose" && c === "}") {
          stack.pop();
          i++;
          state = "after";
        } else if (c === '"') {
          const err = string();
          if (err !== null) return err;
          state = "colon";
        } else return fail("expected a double-quoted property name");
        break;
      case "colon":
        if (c !== ":") return fail("expected ':' after a property name");
        i++;
        state = "value";
        break;
      case "after": {
        const close = stack[stack.length - 1] === "{" ? "}" : "]";
        if (c === ",") state = close === "}" ? "key" : "value";
        else if (c === close) {
          stack.pop();
          state = "after";
        } else return fail(`expected ',' or '${close}'`);
        i++;
        break;
      }
    }
  }

  /** Reads the string at `i` (on its quote); null when well formed. */
  function string(): JsonSyntaxError | null {
    i++;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return null;
      }
      if (c < " ") return fail("control character (e.g. a line break) inside a string");
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) return fail("malformed \\u escape in a string");
          i += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) return fail("malformed escape in a string");
        i += 2;
        continue;
      }
      i++;
    }
    return fail("");
  }
}

function at(text: string, offset: number, kind: string): JsonSyntaxError {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1, kind };
}
