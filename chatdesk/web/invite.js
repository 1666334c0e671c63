// The host's Invite panel: a link and QR code per address, copy, token rotation, LAN on/off.

import { toast } from "./toast.js";
import { byId, copyText, el } from "./util.js";

/** An <img> source for the server's QR code (SVG markup, or already a data: URL). */
function qrSource(svg) {
  if (svg.startsWith("data:image/")) return svg;
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** The host's Invite panel and its button; it talks to the host-only API routes itself. */
export class Invite {
  constructor() {
    this.dialog = byId("invite");
    this.openButton = byId("invite-open");
    this.lanSwitch = byId("lan-switch");
    this.links = byId("invite-links");
    this.available = false;
    this.openButton.addEventListener("click", () => this.open());
    byId("invite-close").addEventListener("click", () => this.dialog.close());
    this.lanSwitch.addEventListener("change", () => this.setLan(this.lanSwitch.checked));
    byId("rotate-token").addEventListener("click", () => this.rotate());
  }

  /** The server's welcome says whether we are the host: only the host gets the Invite panel. */
  async setHost(isHost) {
    if (!isHost) {
      this.available = false;
      this.openButton.hidden = true;
      if (this.dialog.open) this.dialog.close();
      return;
    }
    const data = await this.fetchInvite();
    this.available = data !== null;
    this.openButton.hidden = !this.available;
    if (data) this.render(data);
  }

  async fetchInvite() {
    try {
      const response = await fetch("/api/invite", {
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return null;
      const data = await response.json();
      return data && Array.isArray(data.links) ? data : null;
    } catch {
      return null;
    }
  }

  /** Re-read the links (they change with a LAN switch or a rotation). */
  async refresh() {
    const data = await this.fetchInvite();
    if (data) this.render(data);
  }

  async open() {
    this.dialog.showModal();
    await this.refresh();
  }

  render(data) {
    const switchable = data.lan_available !== false;
    this.lanSwitch.checked = Boolean(data.lan);
    this.lanSwitch.disabled = !switchable;
    let hint = data.lan
      ? "Others on your Wi-Fi or LAN can join with a link below."
      : "Only this computer can connect. Turn on to invite people nearby.";
    if (!switchable) hint += " This server was started with fixed network settings.";
    byId("lan-hint").textContent = hint;
    this.links.replaceChildren(
      ...data.links.map((link) => {
        const url = String(link.url);
        const copy = el("button", {
          className: "button secondary copy",
          text: "Copy link",
          attrs: { type: "button" },
        });
        copy.addEventListener("click", async () => {
          const copied = await copyText(url);
          toast(
            copied ? "Link copied." : "Could not copy; select the link and copy it.",
            copied ? "ok" : "error",
          );
          if (copied) {
            copy.textContent = "Copied";
            setTimeout(() => {
              copy.textContent = "Copy link";
            }, 1500);
          }
        });
        const field = el("input", {
          className: "invite-url",
          attrs: {
            readonly: true,
            value: url,
            "aria-label": `Invite link for ${link.host}`,
            spellcheck: "false",
          },
        });
        field.addEventListener("focus", () => field.select());
        return el(
          "li",
          { className: "invite-link", data: { host: link.host } },
          link.qr_svg
            ? el("img", {
                className: "qr",
                attrs: {
                  src: qrSource(String(link.qr_svg)),
                  alt: `QR code for the ${link.host} link`,
                  width: 140,
                  height: 140,
                },
              })
            : null,
          el(
            "div",
            { className: "invite-detail" },
            el("span", { className: "invite-host", text: link.host }),
            field,
            copy,
          ),
        );
      }),
    );
  }

  async setLan(enabled) {
    this.lanSwitch.disabled = true;
    try {
      const response = await fetch("/api/lan", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ enabled }),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      toast(
        enabled
          ? "Opening to the local network… reconnecting."
          : "Closing to this computer only… reconnecting.",
      );
    } catch {
      this.lanSwitch.checked = !enabled;
      toast("Could not change the network setting.", "error");
    }
    await this.refresh();
  }

  async rotate() {
    const confirmed = await confirmAction(
      "Rotate the room token?",
      "Every existing invite link stops working and everyone who joined with one is signed out. You will need to share the new link.",
      "Rotate token",
    );
    if (!confirmed) return;
    try {
      const response = await fetch("/api/token/rotate", { method: "POST" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      toast("New token issued: the old links no longer work.", "ok");
    } catch {
      toast("Could not rotate the token.", "error");
    }
    await this.refresh();
  }
}

/** A modal yes/no question; resolves true when confirmed. */
function confirmAction(title, text, okLabel) {
  const dialog = byId("confirm-dialog");
  byId("confirm-title").textContent = title;
  byId("confirm-text").textContent = text;
  byId("confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}
