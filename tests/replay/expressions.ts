/**
 * The part of GitHub Actions' expression language the shipped workflow uses, evaluated as the
 * engine does: `${{ }}` interpolation, contexts (`github`, `env`, `vars`, `matrix`, `steps`,
 * `needs`, `inputs`), literals, `!`, `==`, `!=`, `&&`, `||` (which yield an operand, as in
 * JavaScript), parentheses, and the functions `fromJSON`, `toJSON`, `format`, `contains`,
 * `startsWith`, `success`, `failure`, `cancelled` and `always`. Anything else is refused, so a
 * workflow that starts using more fails the replay instead of being misread.
 *
 * @module
 */

/** A value of the expression language. */
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** The contexts and the job's status so far. */
export interface Scope {
  contexts: Record<string, Value>;
  /** Whether a step (or, for a job, a needed job) failed before. */
  failed: boolean;
}

const TOKEN =
  /\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_-]*)|(==|!=|&&|\|\||[!().,]))/y;

type Token = { kind: "string" | "number" | "name" | "op"; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new Error(`expression: cannot read ${JSON.stringify(text.slice(at))}`);
    const [, string, number, name, op] = match;
    if (string !== undefined) tokens.push({ kind: "string", text: string });
    else if (number !== undefined) tokens.push({ kind: "number", text: number });
    else if (name !== undefined) tokens.push({ kind: "name", text: name });
    else tokens.push({ kind: "op", text: op });
  }
  return tokens;
}

/** Truthiness as the engine sees it: false, 0, '', null are false. */
export function truthy(value: Value): boolean {
  return !(value === false || value === 0 || value === "" || value === null);
}

/** A value as interpolation writes it. */
export function asText(value: Value): string {
  if (value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Evaluates one expression (without `${{ }}`). */
export function evaluate(text: string, scope: Scope): Value {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (op?: string) => {
    const token = tokens[i++];
    if (!token || (op !== undefined && token.text !== op)) {
      throw new Error(`expression ${JSON.stringify(text)}: expected ${op ?? "more"}`);
    }
    return token;
  };
  const or = (): Value => {
    let value = and();
    while (peek()?.text === "||") {
      take();
      const right = and();
      value = truthy(value) ? value : right;
    }
    return value;
  };
  const and = (): Value => {
    let value = equality();
    while (peek()?.text === "&&") {
      take();
      const right = equality();
      value = truthy(value) ? right : value;
    }
    return value;
  };
  const equality = (): Value => {
    let value = unary();
    while (peek()?.text === "==" || peek()?.text === "!=") {
      const op = take().text;
      const same = equal(value, unary());
      value = op === "==" ? same : !same;
    }
    return value;
  };
  const unary = (): Value => {
    if (peek()?.text === "!") {
      take();
      return !truthy(unary());
    }
    return primary();
  };
  const primary = (): Value => {
    const token = take();
    if (token.kind === "string") return token.text.slice(1, -1).replaceAll("''", "'");
    if (token.kind === "number") return Number(token.text);
    if (token.text === "(") {
      const value = or();
      take(")");
      return value;
    }
    if (token.kind !== "name") throw new Error(`expression ${JSON.stringify(text)}: ${token.text}`);
    if (token.text === "true" || token.text === "false") return token.text === "true";
    if (token.text === "null") return null;
    if (peek()?.text === "(") {
      take("(");
      const args: Value[] = [];
      while (peek()?.text !== ")") {
        args.push(or());
        if (peek()?.text === ",") take(",");
      }
      take(")");
      return call(token.text, args, scope);
    }
    if (!(token.text in scope.contexts)) throw new Error(`expression: no context ${token.text}`);
    let value: Value = scope.contexts[token.text];
    while (peek()?.text === ".") {
      take();
      const key = take().text;
      value = value !== null && typeof value === "object" && !Array.isArray(value)
        ? value[key] ?? null
        : null;
    }
    return value;
  };
  const value = or();
  if (i !== tokens.length) throw new Error(`expression ${JSON.stringify(text)}: trailing input`);
  return value;
}

function equal(a: Value, b: Value): boolean {
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

function call(name: string, args: Value[], scope: Scope): Value {
  switch (name) {
    case "fromJSON":
      return JSON.parse(asText(args[0]));
    case "toJSON":
      return JSON.stringify(args[0]);
    case "format":
      return asText(args[0]).replace(/\{(\d+)\}/g, (_, n) => asText(args[1 + Number(n)]));
    case "contains":
      return Array.isArray(args[0])
        ? args[0].some((item) => equal(item, args[1]))
        : asText(args[0]).toLowerCase().includes(asText(args[1]).toLowerCase());
    case "startsWith":
      return asText(args[0]).toLowerCase().startsWith(asText(args[1]).toLowerCase());
    case "success":
      return !scope.failed;
    case "failure":
      return scope.failed;
    case "cancelled":
      return false;
    case "always":
      return true;
  }
  throw new Error(`expression: unknown function ${name}`);
}

/** `text` with every `${{ expression }}` replaced by its value. */
export function interpolate(text: string, scope: Scope): string {
  return text.replace(/\$\{\{(.*?)\}\}/gs, (_, expression) => asText(evaluate(expression, scope)));
}

/** A whole value that may be one `${{ }}` (then its value, not text) or text to interpolate. */
export function resolve(text: string, scope: Scope): Value {
  const whole = /^\s*\$\{\{(.*)\}\}\s*$/s.exec(text);
  return whole ? evaluate(whole[1], scope) : interpolate(text, scope);
}

/**
 * An `if:` as the engine reads it: absent means `success()`; a condition that calls no status
 * function is `success() && (condition)`.
 */
export function condition(text: string | undefined, scope: Scope): boolean {
  if (text === undefined) return !scope.failed;
  const expression = (/^\s*\$\{\{(.*)\}\}\s*$/s.exec(text)?.[1] ?? text).trim();
  const value = truthy(evaluate(expression, scope));
  return /\b(success|failure|cancelled|always)\s*\(/.test(expression)
    ? value
    : !scope.failed && value;
}
