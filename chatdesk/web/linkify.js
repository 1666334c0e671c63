// Turn message text into DOM nodes: text nodes, plus <a> elements for http(s) URLs only.

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'"*_~]$/;

/** Drop sentence punctuation and unbalanced closing brackets that a URL rarely ends with. */
function trimUrl(candidate) {
  let url = candidate;
  for (;;) {
    if (TRAILING_PUNCTUATION.test(url)) {
      url = url.slice(0, -1);
      continue;
    }
    const last = url.at(-1);
    const opener = { ")": "(", "]": "[", "}": "{" }[last];
    if (opener && count(url, last) > count(url, opener)) {
      url = url.slice(0, -1);
      continue;
    }
    return url;
  }
}

function count(text, ch) {
  return text.split(ch).length - 1;
}

/** The normalised href when `url` parses as an absolute http(s) URL, else null. */
export function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A fragment holding `text` as text nodes, with each http(s) URL in it as a safe link. */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  let cursor = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = trimUrl(match[0]);
    const href = url.length > "https://".length - 1 ? safeHref(url) : null;
    if (!href) continue;
    if (match.index > cursor) fragment.append(document.createTextNode(text.slice(cursor, match.index)));
    const link = document.createElement("a");
    link.href = href;
    link.textContent = url;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    fragment.append(link);
    cursor = match.index + url.length;
  }
  if (cursor < text.length) fragment.append(document.createTextNode(text.slice(cursor)));
  return fragment;
}
