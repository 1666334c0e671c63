// The seed's Echo chat page script, moved out of the page so a strict CSP holds:
// the WebSocket URL comes from this page's location, and the form is wired here.
(function () {
  "use strict";

  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var ws = new WebSocket(scheme + window.location.host + "/ws");

  ws.onmessage = function (event) {
    var messages = document.getElementById("messages");
    var message = document.createElement("li");
    var content = document.createTextNode(event.data);
    message.appendChild(content);
    messages.appendChild(message);
  };

  function sendMessage(event) {
    var input = document.getElementById("messageText");
    var text = input.value;
    input.value = "";
    event.preventDefault();
    // Typed before the socket finished opening: send as soon as it is open.
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.addEventListener(
        "open",
        function () {
          ws.send(text);
        },
        { once: true },
      );
    } else {
      ws.send(text);
    }
  }

  document.getElementById("echo-form").addEventListener("submit", sendMessage);
})();
