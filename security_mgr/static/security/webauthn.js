// The console's passkey buttons: WebAuthn options arrive as JSON (base64url strings)
// and the browser's answers go back the same way, so it also works in browsers
// without PublicKeyCredential.parse*FromJSON.
// Messages go through Django's JavaScript catalog (`console-jsi18n`, loaded before this
// file) when the page has it, and stay English otherwise.
(function () {
  "use strict";

  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((fmt, args) => {
    const rest = args.slice();
    return fmt.replace(/%s/g, () => String(rest.shift()));
  });

  const bytes = (s) =>
    Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const text = (buf) =>
    btoa(String.fromCharCode(...new Uint8Array(buf)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  function csrfToken() {
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "Content-Type": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data;
    try {
      data = await response.json();
    } catch (e) {
      throw new Error(interpolate(gettext("The server answered %s without a readable message."), [response.status]));
    }
    if (!response.ok) {
      throw new Error((data && data.error && data.error.message) || interpolate(gettext("The server answered %s."), [response.status]));
    }
    return data;
  }

  // What a person can act on, instead of the browser's DOMException names.
  function explain(error) {
    switch (error && error.name) {
      case "NotAllowedError":
        return gettext("No passkey was used: the check was cancelled or timed out, the device could not verify you, or it holds no passkey for this account.");
      case "InvalidStateError":
        return gettext("This device already holds one of your passkeys: use it to sign in.");
      case "SecurityError":
        return interpolate(gettext("The browser refused this address for passkeys (%s)."), [error.message]);
      case "NotSupportedError":
        return gettext("This device supports none of the requested passkey types.");
      default:
        return (error && error.message) || String(error);
    }
  }

  function supported() {
    if (window.PublicKeyCredential && navigator.credentials) return;
    throw new Error(gettext("This browser does not support passkeys (or the page is not on HTTPS or localhost)."));
  }

  async function register(optionsUrl, registerUrl, name) {
    supported();
    const options = await post(optionsUrl);
    options.challenge = bytes(options.challenge);
    options.user.id = bytes(options.user.id);
    (options.excludeCredentials || []).forEach((c) => { c.id = bytes(c.id); });
    const credential = await navigator.credentials.create({publicKey: options});
    const r = credential.response;
    return post(registerUrl, {
      name: name,
      credential: {
        id: credential.id, rawId: text(credential.rawId), type: credential.type,
        response: {
          clientDataJSON: text(r.clientDataJSON),
          attestationObject: text(r.attestationObject),
          transports: r.getTransports ? r.getTransports() : [],
        },
      },
    });
  }

  async function authenticate(optionsUrl, verifyUrl) {
    supported();
    const options = await post(optionsUrl);
    options.challenge = bytes(options.challenge);
    (options.allowCredentials || []).forEach((c) => { c.id = bytes(c.id); });
    const credential = await navigator.credentials.get({publicKey: options});
    const r = credential.response;
    return post(verifyUrl, {
      id: credential.id, rawId: text(credential.rawId), type: credential.type,
      response: {
        clientDataJSON: text(r.clientDataJSON),
        authenticatorData: text(r.authenticatorData),
        signature: text(r.signature),
        userHandle: r.userHandle ? text(r.userHandle) : null,
      },
    });
  }

  window.dimPasskeys = {register, authenticate, explain};
})();
