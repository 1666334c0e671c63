// Which nicks and room names the server takes, with the hint to show for one it would refuse.

import { NICK_MAX, ROOM_NAME_MAX, ROOM_PATTERN } from "./limits.js";
import { codePointLength } from "./util.js";

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Null for a nick the server takes (trimmed, 1..NICK_MAX characters, no controls), else the problem. */
export function nickProblem(nick) {
  if (nick.length === 0) return "Please enter a nick.";
  if (codePointLength(nick) > NICK_MAX) return `A nick has at most ${NICK_MAX} characters.`;
  if (CONTROL_CHARACTERS.test(nick)) return "A nick cannot contain control characters.";
  return null;
}

/** Null for a valid room name, else a hint that says how to fix it. */
export function roomProblem(name) {
  if (name.length === 0) return "Type a room name.";
  if (name.length > ROOM_NAME_MAX) return `A room name has at most ${ROOM_NAME_MAX} characters.`;
  if (/[A-Z]/.test(name) && ROOM_PATTERN.test(name.toLowerCase())) return "Use lowercase letters.";
  if (!ROOM_PATTERN.test(name)) {
    return "Use lowercase letters, digits, “-” and “_”, starting with a letter or digit.";
  }
  return null;
}
