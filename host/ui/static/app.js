// The kiosk screen: renders the view the session announces, sends the citizen's touches.
// Every text comes from the catalogs (/i18n/<lang>.json); this file holds none of its own.
"use strict";

const S = {
  view: null,
  pad: 0,
  cats: {},
  langs: [],
  errorKey: "",
  picked: new Set(), // subjects or options being chosen on the current screen
  ws: null,
  hopper: "", // clerk refill: the hopper picked
  count: "", // clerk refill: digits typed on the number pad
};

// Prefixes of clerk texts chosen by a device's reason or a hopper's level (keys checked by
// tests/kiosk/test_clerk_port.py against what the clerk port reports).
const REASON = "clerk.reason_";
const LEVEL = "clerk.level_";
const CLERK_LIVE = new Set(["clerk", "clerk_refill", "clerk_collect"]); // status refreshes

const $ = (sel) => document.querySelector(sel);

function t(key, params) {
  const lang = (S.view && S.view.lang) || "ja";
  const cat = S.cats[lang] || S.cats.ja || {};
  let text = cat[key];
  if (text === undefined) text = key; // visible, so a missing key is noticed
  if (params) {
    for (const [k, v] of Object.entries(params)) text = text.split("{" + k + "}").join(String(v));
  }
  return text;
}

// Where a refusal sends the citizen: the counter only where the counter can help.
const ADVICE = {
  refusal_maintenance: "notice.advice_later",
  refusal_out_of_hours: "notice.advice_hours",
  refusal_card_not_yet_usable: "notice.advice_tomorrow",
  refusal_moved_in_today: "notice.advice_tomorrow",
  refusal_certificate_expired: "notice.advice_renew_certificate",
  refusal_certificate_revoked: "notice.advice_renew_certificate",
  refusal_certificate_untrusted: "notice.advice_check_card",
};

// How current the register is, before the citizen pays: one line, or one per person.
function asOf(list) {
  if (!list || !list.length) return "";
  const lines = list.length === 1
    ? `<div data-testid="as-of">${esc(t("fee.as_of", { date: list[0].date }))}</div>`
    : list.map((p) => `<div data-testid="as-of">${esc(t("fee.as_of_member", { name: p.name, date: p.date }))}</div>`).join("");
  return `${lines}<div class="hint" data-testid="as-of-note">${esc(t("fee.as_of_note"))}</div>`;
}

// The order as the citizen checks it before paying (the order check): one row per fact.
function orderRows(v) {
  const o = v.order || {};
  const row = (key, id, html, cls) => `<tr class="${cls || ""}" data-testid="order-${id}"><th>${esc(t(key))}</th><td>${html}</td></tr>`;
  let rows = row("order.certificate", "kind", esc(t("cert." + (o.kind || v.kind))));
  if (o.kind === "juminhyo") {
    const who = (o.subjects || []).map((p) => esc(t(p.is_self ? "order.person_self" : "order.person", { name: p.name }))).join("<br>");
    rows += row("order.subjects", "subjects", who);
    const items = (o.options || []).filter((x) => x !== "my_number").map((x) => esc(t("option." + x)));
    rows += row("order.items", "items", items.length ? items.join(esc(t("order.items_sep"))) : esc(t("order.items_basic")));
    rows += row("order.my_number", "my-number", esc(t(o.my_number ? "order.my_number_yes" : "order.my_number_no")), o.my_number ? "mine" : "");
  } else {
    rows += row("order.subjects", "subjects", esc(t("order.card_holder")));
  }
  if (o.fiscal_year) rows += row("order.year", "year", esc(t("year.label", { year: o.fiscal_year })));
  if (o.municipality) rows += row("order.municipality", "municipality", esc(o.municipality));
  rows += row("order.copies", "copies", esc(t("fee.copies", { n: v.copies })) + (o.fee_per_copy_yen ? ` <small>(${esc(t("fee.per_copy", { yen: yen(o.fee_per_copy_yen) }))})</small>` : ""));
  return `<table class="order" data-testid="order">${rows}</table>`;
}

// What is left to take, as a list (not buttons), and the money in the tray told in yen.
function handover(v, cls) {
  const money = v.tray_yen
    ? `<div class="panel tray-money" data-testid="tray-money">${esc(t(v.tray_kind === "refund" ? "collect.refund" : "collect.change", { yen: yen(v.tray_yen) }))}</div>`
    : "";
  const items = (v.items || []).map((i) => `<li class="item ${cls}" data-testid="item-${i}">${esc(t("item." + i))}</li>`).join("");
  return `${money}<ul class="items" data-testid="items">${items}</ul>`;
}

function adviceFor(notice) {
  return ADVICE[notice] || "notice.counter";
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function send(msg) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(msg));
}

function rawBtn(label, msg, cls, testid) {
  return `<button class="${cls || ""}" data-testid="${testid}" data-send='${esc(JSON.stringify(msg))}'>${esc(label)}</button>`;
}

function btn(key, msg, cls, testid, params) {
  return rawBtn(t(key, params), msg, cls, testid);
}

const cancelBtn = () => btn("btn.cancel", { event: "cancel" }, "danger", "cancel");
const backBtn = () => btn("btn.back", { event: "back" }, "", "back");
const spacer = () => "<span></span>";

function spinner(key, params) {
  return `<div class="center"><div class="spinner" data-testid="spinner"></div>
    <h1 data-testid="progress">${esc(t(key, params))}</h1><p class="hint">${esc(t("progress.wait"))}</p></div>`;
}

function yen(n) {
  return Number(n).toLocaleString("ja-JP");
}

function pinPad(titleKey, v) {
  // The card's PIN is 4 digits, a clerk's 6 to 12: the bounds come with the view
  // (host/session/pin.py), the server's pad ignores digits beyond the maximum.
  const min = v.pin_min || 4;
  const max = v.pin_max || min;
  let dots = "";
  for (let i = 0; i < Math.min(max, Math.max(min, S.pad)); i++) dots += `<div class="dot ${i < S.pad ? "filled" : ""}" data-testid="pin-dot"></div>`;
  let keys = "";
  for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) keys += rawBtn(d, { event: "pin_digit", digit: d }, "", "pin-key-" + d);
  keys += btn("btn.clear", { event: "pin_clear" }, "word", "pin-clear");
  keys += rawBtn("0", { event: "pin_digit", digit: "0" }, "", "pin-key-0");
  keys += `<button class="primary word" data-testid="pin-ok" data-send='{"event":"pin_submit"}' ${S.pad >= min && S.pad <= max ? "" : "disabled"}>${esc(t("btn.confirm"))}</button>`;
  let side = `<h1>${esc(t(titleKey))}</h1><div class="dots ${max > 4 ? "long" : ""}" data-testid="pin-dots">${dots}</div>`;
  if (v.tries_left !== undefined && v.tries_left !== null) {
    side += `<div class="tries ${v.tries_left <= 1 ? "low" : ""}" data-testid="tries-left">${esc(t("pin.tries_left", { n: v.tries_left }))}</div>`;
    side += `<p class="hint">${esc(t("pin.lock_warning"))}</p>`;
  }
  if (v.pin_error) side += `<div class="panel alert" data-testid="pin-wrong">${esc(t("pin.wrong"))}</div>`;
  return `<div class="pin-row"><div style="flex:1">${side}</div><div class="pad">${keys}</div></div>`;
}

function picker(kind, items, selectedKeyPrefix) {
  // items: [{id, label, sub}] toggled locally, sent on "next"
  return `<div class="grid two">${items
    .map(
      (it) => `<button class="choice ${S.picked.has(it.id) ? "on" : ""}" data-testid="${selectedKeyPrefix}-${esc(it.id)}" data-pick="${esc(it.id)}">${esc(it.label)}${it.sub ? `<small>${esc(it.sub)}</small>` : ""}</button>`
    )
    .join("")}</div>`;
}

const SCREENS = {
  idle: () => ({
    main: `<h1 class="center" style="font-size:52px;margin-top:40px">${esc(t("idle.title"))}</h1>
      <p class="hint center">${esc(t("idle.hint"))}</p>
      ${btn("btn.start", { event: "start" }, "primary big-start", "start")}
      <p class="hint center">${esc(t("idle.touch"))}</p>`,
  }),
  language: () => ({
    main: `<h1>${esc(t("language.title"))}</h1><div class="grid three">${S.langs
      .map((l) => `<button class="choice" lang="${l.code}" data-testid="lang-${l.code}" data-send='${esc(JSON.stringify({ event: "language", lang: l.code }))}'>${esc(l.name)}</button>`)
      .join("")}</div>`,
    foot: cancelBtn() + spacer(),
  }),
  card: () => ({
    main: `<h1>${esc(t("card.title"))}</h1><div class="card-art"></div><p class="hint center">${esc(t("card.hint"))}</p>`,
    foot: cancelBtn() + spacer(),
  }),
  pin: (v) => ({ main: pinPad("pin.title", v), foot: cancelBtn() + spacer() }),
  pin_check: () => ({ main: spinner("progress.pin_check"), foot: cancelBtn() + spacer() }),
  authenticating: (v) => ({
    main: spinner(v.auth_step === "sign" ? "progress.sign" : v.auth_step === "center" ? "progress.center" : "progress.challenge"),
    foot: cancelBtn() + spacer(),
  }),
  certificate: (v) => ({
    main: `<h1>${esc(t("certificate.title"))}</h1><div class="grid two">${(v.offers || [])
      .map((o) => `<button class="choice" data-testid="cert-${o.kind}" data-send='${esc(JSON.stringify({ event: "certificate", kind: o.kind }))}'>${esc(t("cert." + o.kind))}<small>${esc(t("fee.per_copy", { yen: yen(o.fee_per_copy_yen) }))}</small></button>`)
      .join("")}</div>`,
    foot: cancelBtn() + spacer(),
  }),
  subject: (v) => ({
    main: `<h1>${esc(t("subject.title"))}</h1><p class="hint">${esc(t("subject.hint"))}</p>${picker(
      "subjects",
      (v.members || []).map((m) => ({ id: m.id, label: m.name, sub: m.is_self ? t("subject.self") : "" })),
      "member"
    )}`,
    foot: cancelBtn() + backBtn() + `<button class="primary" data-testid="next" data-next="subjects">${esc(t("btn.next"))}</button>`,
  }),
  options: (v) => ({
    main: `<h1>${esc(t("options.title"))}</h1><p class="hint">${esc(t("options.hint"))}</p>${picker(
      "options",
      (v.allowed_options || []).map((o) => ({ id: o, label: t("option." + o) })),
      "option"
    )}`,
    foot: cancelBtn() + backBtn() + `<button class="primary" data-testid="next" data-next="options">${esc(t("btn.next"))}</button>`,
  }),
  my_number_warning: () => ({
    main: `<div class="panel warning"><h1>${esc(t("warning.title"))}</h1><p>${esc(t("warning.body"))}</p></div>`,
    foot: cancelBtn() + backBtn() + btn("warning.accept", { event: "warning_ok" }, "primary", "warning-ok"),
  }),
  fiscal_year: (v) => ({
    main: `<h1>${esc(t("year.title"))}</h1><div class="grid three">${(v.fiscal_years || [])
      .map((y) => btn("year.label", { event: "year", year: y }, "choice", "year-" + y, { year: y }))
      .join("")}</div>`,
    foot: cancelBtn() + backBtn(),
  }),
  copies: (v) => {
    let b = "";
    for (let n = 1; n <= (v.max_copies || 1); n++) b += btn("copies.unit", { event: "copies", copies: n }, "choice center", "copies-" + n, { n });
    return {
      main: `<h1>${esc(t("copies.title"))}</h1><p class="hint">${esc(t("cert." + v.kind))} — ${esc(t("fee.per_copy", { yen: yen(v.fee_per_copy_yen) }))}</p><div class="grid five">${b}</div>`,
      foot: cancelBtn() + backBtn(),
    };
  },
  quoting: () => ({ main: spinner("progress.quoting"), foot: cancelBtn() + spacer() }),
  fee: (v) => ({
    main: `<h1>${esc(t("order.title"))}</h1><div class="order-grid">
      <div class="panel fee-table">${orderRows(v)}</div>
      <div class="order-side"><div class="panel fee-box"><div>${esc(t("order.fee"))}</div>
        <div class="total" data-testid="fee-total">${esc(t("fee.total", { yen: yen(v.fee_yen) }))}</div></div>
        ${v.as_of && v.as_of.length ? `<div class="panel as-of" data-testid="order-as-of"><div class="label">${esc(t("order.as_of"))}</div>${asOf(v.as_of)}</div>` : ""}
        <div class="panel warning" data-testid="no-refund">${esc(t("fee.no_refund"))}</div></div></div>`,
    foot: cancelBtn() + btn("order.change", { event: "back" }, "", "back") + btn("fee.pay", { event: "fee_ok" }, "primary", "fee-ok"),
  }),
  payment: (v) => ({
    main: `<h1>${esc(t("payment.title"))}</h1><div class="money">
      <div class="panel"><div>${esc(t("payment.fee"))}</div><div class="amount" data-testid="pay-fee">${esc(t("payment.yen", { yen: yen(v.fee_yen) }))}</div></div>
      <div class="panel"><div>${esc(t("payment.inserted"))}</div><div class="amount" data-testid="pay-inserted">${esc(t("payment.yen", { yen: yen(v.inserted_yen) }))}</div></div>
      <div class="panel remaining"><div>${esc(t("payment.remaining"))}</div><div class="amount" data-testid="pay-remaining">${esc(t("payment.yen", { yen: yen(v.remaining_yen) }))}</div></div>
      </div><p class="hint">${esc(t("payment.hint"))}</p>`,
    foot: cancelBtn() + spacer(),
  }),
  refunding: (v) => ({
    main: `${v.notice ? `<div class="panel alert" data-testid="notice">${esc(t("notice." + v.notice))}</div>` : ""}
      <div class="center"><div class="spinner"></div><h1 data-testid="progress">${esc(t("refunding.title"))}</h1>
      <p data-testid="refund">${esc(t("refunding.take", { yen: yen(v.refund_yen) }))}</p></div>`,
  }),
  issuing: () => ({ main: spinner("progress.issuing") }),
  printing: (v) => {
    const pct = v.pages ? Math.round((100 * v.page) / v.pages) : 5;
    return {
      main: `<div class="center"><h1 data-testid="progress">${esc(t("printing.title"))}</h1>
        <div class="spinner"></div><div class="bar"><div style="width:${pct}%"></div></div>
        <p data-testid="pages">${v.pages ? esc(t("printing.page", { page: v.page, pages: v.pages })) : ""}</p></div>`,
    };
  },
  print_failed: () => ({
    main: `<div class="panel alert"><h1>${esc(t("print_failed.title"))}</h1><p data-testid="notice">${esc(t("print_failed.body"))}</p></div>`,
  }),
  collect: (v) => ({
    main: `<h1>${esc(t("collect.title"))}</h1><p class="hint">${esc(t("collect.hint"))}</p>${handover(v, "")}`,
  }),
  thanks: () => ({ main: `<h1 class="center" style="font-size:56px;margin-top:160px">${esc(t("thanks.title"))}</h1>` }),
  notice: (v) => ({
    main: `<div class="panel alert"><h1>${esc(t("notice.title"))}</h1><p data-testid="notice">${esc(t("notice." + v.notice))}</p>
      ${v.notice.startsWith("refusal_") ? `<p data-testid="counter"><b>${esc(t(adviceFor(v.notice)))}</b></p>` : ""}
      ${v.recovered_certificates ? `<p data-testid="recovered-certificates"><b>${esc(t("notice.recovered_certificates", { n: v.recovered_certificates }))}</b></p>` : ""}
      ${v.recovered_yen ? `<p data-testid="recovered-money"><b>${esc(t("notice.recovered_money", { yen: v.recovered_yen.toLocaleString("ja-JP") }))}</b></p>` : ""}</div>`,
    foot: spacer() + btn("btn.ok", { event: "notice_ok" }, "primary", "notice-ok"),
  }),
  left_behind: (v) => ({
    main: `<h1 data-testid="left-behind">${esc(t("left_behind.title"))}</h1><p class="hint">${esc(t("left_behind.body"))}</p>${handover(v, "left")}`,
  }),
  closed: () => ({
    main: `<div class="center" style="margin-top:120px"><h1 data-testid="closed">${esc(t("closed.title"))}</h1>
      <p style="font-size:40px">${esc(t("closed.hours"))}</p><p class="hint">${esc(t("closed.maintenance"))}</p></div>`,
  }),
  out_of_service: (v) => ({
    main: `<div class="center" style="margin-top:120px"><h1 data-testid="oos">${esc(t("oos.title"))}</h1><p>${esc(t("oos.body"))}</p>
      ${(v.faults || []).length ? `<p class="hint">${esc(t("oos.unusable"))}</p><ul class="devices" data-testid="oos-faults">${v.faults.map((f) => `<li class="bad" data-testid="fault-${esc(f)}">${esc(t("device." + f))}</li>`).join("")}</ul>` : ""}</div>`,
  }),
  clerk_pin: (v) => ({ main: pinPad("clerk.pin", v), foot: btn("clerk.exit", { event: "clerk_exit" }, "", "clerk-exit") + spacer() }),
  clerk_check: () => ({ main: spinner("clerk.checking") }),
  clerk: (v) => {
    const st = v.clerk_status || {};
    const devices = (st.devices || [])
      .map((d) => {
        const bad = !d.ok || (v.faults || []).includes(d.device);
        const why = d.reason ? t(REASON + d.reason) : bad ? t("clerk.reason_fault") : t("clerk.ok");
        return `<tr class="${bad ? "bad" : ""}" data-testid="dev-${esc(d.device)}"><td>${esc(t("device." + d.device))}</td><td>${esc(why)}</td></tr>`;
      })
      .join("");
    const hoppers = (st.hoppers || [])
      .map((h) => `<tr class="${h.level !== "ok" ? "bad" : ""}" data-testid="hopper-${esc(h.name)}"><td>${esc(t("clerk.hopper", { value: yen(h.value) }))}</td>
        <td data-testid="hopper-coins-${esc(h.name)}">${esc(t("clerk.coins", { n: h.coins }))}</td><td>${esc(t(LEVEL + h.level))}</td></tr>`)
      .join("");
    const box = st.cashbox || { total: 0 };
    const stacker = st.stacker || { total: 0 };
    const nums = (v.reprint_numbers || []).map((n) => `<li data-testid="reprint-number">${esc(n)}</li>`).join("");
    return {
      main: `<h1>${esc(t("clerk.title"))}</h1>${clerkDone(v)}<div class="clerk-grid">
        <div class="panel"><b>${esc(t("clerk.devices"))}</b><table class="devices" data-testid="devices">${devices || `<tr><td>${esc(t("clerk.reading"))}</td></tr>`}</table></div>
        <div class="panel"><b>${esc(t("clerk.hoppers"))}</b><table data-testid="hoppers">${hoppers}</table>
          <p data-testid="cashbox-total">${esc(t("clerk.cashbox_total", { yen: yen(box.total) }))}</p>
          <p data-testid="stacker-total">${esc(t("clerk.stacker_total", { yen: yen(stacker.total) }))}</p>
          <p data-testid="reprint-pending">${esc(t("clerk.reprint_pending", { n: v.reprint_pending || 0 }))}</p><ul data-testid="reprint-numbers">${nums}</ul></div></div>`,
      foot:
        btn("clerk.exit", { event: "clerk_exit" }, "", "clerk-exit") +
        btn("clerk.refill", { event: "clerk_menu", item: "refill" }, "", "clerk-refill") +
        btn("clerk.collect", { event: "clerk_menu", item: "collect" }, "", "clerk-collect") +
        btn("clerk.report", { event: "clerk_menu", item: "report" }, "", "clerk-report") +
        btn("clerk.reprint", { event: "clerk_reprint" }, "primary", "clerk-reprint"),
    };
  },
  clerk_refill: (v) => {
    const st = v.clerk_status || {};
    const hoppers = (st.hoppers || [])
      .map((h) => `<button class="choice ${S.hopper === h.name ? "on" : ""}" data-testid="refill-${esc(h.name)}" data-hopper="${esc(h.name)}">${esc(t("clerk.hopper", { value: yen(h.value) }))}<small>${esc(t("clerk.coins_of", { n: h.coins, max: h.capacity }))}</small></button>`)
      .join("");
    let keys = "";
    for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) keys += `<button data-testid="num-${d}" data-digit="${d}">${d}</button>`;
    keys += `<button class="word" data-testid="num-clear" data-digit="C">${esc(t("btn.clear"))}</button><button data-testid="num-0" data-digit="0">0</button>`;
    const ready = S.hopper && S.count && !v.clerk_busy;
    keys += `<button class="primary word" data-testid="refill-ok" data-refill="1" ${ready ? "" : "disabled"}>${esc(t("btn.confirm"))}</button>`;
    return {
      main: `<h1>${esc(t("clerk.refill_title"))}</h1><div class="pin-row"><div style="flex:1"><div class="grid two">${hoppers}</div>
        <p class="hint">${esc(t("clerk.refill_hint"))}</p><div class="amount" data-testid="refill-count">${esc(t("clerk.coins", { n: S.count || 0 }))}</div>
        ${v.clerk_busy ? `<p data-testid="busy">${esc(t("clerk.busy"))}</p>` : ""}</div><div class="pad">${keys}</div></div>`,
      foot: clerkExit() + backBtn() + spacer(),
    };
  },
  clerk_collect: (v) => {
    const st = v.clerk_status || {};
    const box = st.cashbox || { coins: {}, total: 0 };
    const stacker = st.stacker || { bills: {}, total: 0 };
    const rows = (items) =>
      Object.entries(items)
        .map(([value, n]) => `<tr data-testid="expect-${esc(value)}"><td>${esc(t("clerk.denomination", { value: yen(value) }))}</td><td>${esc(t("clerk.pieces", { n }))}</td><td>${esc(t("payment.yen", { yen: yen(value * n) }))}</td></tr>`)
        .join("");
    const total = box.total + stacker.total;
    return {
      main: `<h1>${esc(t("clerk.collect_title"))}</h1><p class="hint">${esc(t("clerk.collect_hint"))}</p><div class="clerk-grid">
        <div class="panel"><b>${esc(t("clerk.cashbox"))}</b><table>${rows(box.coins || {})}</table><p>${esc(t("payment.yen", { yen: yen(box.total) }))}</p></div>
        <div class="panel"><b>${esc(t("clerk.stacker"))}</b><table>${rows(stacker.bills || {})}</table><p>${esc(t("payment.yen", { yen: yen(stacker.total) }))}</p></div></div>
        <div class="panel total" data-testid="collect-total">${esc(t("clerk.collect_total", { yen: yen(total) }))}</div>
        ${v.clerk_busy ? `<p data-testid="busy">${esc(t("clerk.busy"))}</p>` : ""}`,
      foot:
        clerkExit() +
        backBtn() +
        `<button class="primary" data-testid="collect-ok" data-send='${esc(JSON.stringify({ event: "clerk_collect", through: st.collect_through || 0 }))}' ${total > 0 && !v.clerk_busy ? "" : "disabled"}>${esc(t("clerk.collect_confirm"))}</button>`,
    };
  },
  clerk_report: (v) => {
    const r = v.clerk_report || {};
    const day = r.day || "";
    let body = `<p data-testid="busy">${esc(t("clerk.busy"))}</p>`;
    if (r.sessions) {
      const line = (label, value, id) => `<div class="row" data-testid="rep-${id}"><span>${esc(label)}</span> <span>${esc(value)}</span></div>`;
      let rows = Object.entries(r.sessions).map(([k, n]) => line(t("report." + k), n, k)).join("");
      rows += line(t("report.reprints"), r.reprints, "reprints");
      rows += Object.entries(r.certificates).map(([k, n]) => line(t("cert." + k), t("report.copies", { n }), "cert-" + k)).join("");
      rows += Object.entries(r.fees_by_municipality).map(([k, y]) => line(t("report.fee_of", { municipality: k }), t("report.yen", { yen: yen(y) }), "fee-" + k)).join("");
      rows += line(t("report.fees_total"), t("report.yen", { yen: yen(r.fees_yen) }), "fees");
      rows += line(t("report.refunds"), t("report.count_yen", { n: r.refunds.count, yen: yen(r.refunds.yen) }), "refunds");
      rows += line(t("report.vouchers_issued"), t("report.count_yen", { n: r.vouchers.issued, yen: yen(r.vouchers.issued_yen) }), "vouchers");
      rows += line(t("report.vouchers_outstanding"), t("report.count_yen", { n: r.vouchers.outstanding, yen: yen(r.vouchers.outstanding_yen) }), "outstanding");
      // An unprinted voucher is an open item: the citizen holds no slip (kofu cash reprint).
      const unprinted = r.vouchers.unprinted || [];
      if (unprinted.length) {
        rows += line(t("report.vouchers_unprinted"), t("report.count_yen", { n: unprinted.length, yen: yen(unprinted.reduce((a, v) => a + v.amount, 0)) }), "unprinted");
        rows += unprinted.map((v) => line(v.voucher, t("report.yen", { yen: yen(v.amount) }), "unprinted-" + v.voucher)).join("");
      }
      rows += Object.entries(r.refills).map(([h, x]) => line(t("report.refill", { hopper: h }), t("report.coins", { n: x.coins }), "refill-" + h)).join("");
      rows += r.collections.map((c, i) => line(t("report.collection", { n: i + 1 }), t("report.yen", { yen: yen(c.yen) }), "collection-" + (i + 1))).join("");
      rows += Object.entries(r.device_faults).map(([d, n]) => line(t("report.fault", { device: deviceName(d) }), n, "fault-" + d)).join("");
      body = `<div class="report" data-testid="report">${rows}</div>`;
    }
    return {
      main: `<h1>${esc(t("report.title"))} <span data-testid="report-day">${esc(day)}</span></h1>${clerkDone(v)}<div class="report-scroll">${body}</div>`,
      foot:
        clerkExit() +
        backBtn() +
        `<button data-testid="day-prev" data-day="-1">${esc(t("clerk.day_prev"))}</button><button data-testid="day-next" data-day="1">${esc(t("clerk.day_next"))}</button>` +
        `<button class="primary" data-testid="report-print" data-send='{"event":"clerk_print_report"}' ${r.sessions && !v.clerk_busy ? "" : "disabled"}>${esc(t("clerk.print_report"))}</button>`,
    };
  },
};
SCREENS.left_behind_screen = SCREENS.left_behind;
SCREENS.left_behind_voice = SCREENS.left_behind;
SCREENS.left_behind_alarm = SCREENS.left_behind;

const clerkExit = () => btn("clerk.exit", { event: "clerk_exit" }, "", "clerk-exit");

function clerkDone(v) {
  if (!v.clerk_done) return "";
  return `<div class="panel ok" data-testid="clerk-done">${esc(t("clerk." + v.clerk_done, { yen: yen(v.clerk_done_yen || 0) }))}</div>`;
}

function deviceName(code) {
  // cash devices journal their own names (hopper3, ...): shown as they are
  const key = "device." + code;
  const text = t(key);
  return text === key ? code : text;
}

function shiftDay(iso, days) {
  const d = new Date(iso + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function render() {
  const v = S.view;
  if (!v) return;
  const fn = SCREENS[v.screen];
  const out = fn ? fn(v) : { main: `<h1>${esc(v.screen)}</h1>` };
  document.documentElement.lang = v.lang || "ja";
  $("#title").textContent = t("app.title");
  const screen = $("#screen");
  screen.dataset.screen = v.screen;
  screen.dataset.version = v.version;
  screen.innerHTML = out.main;
  $("#bottom").innerHTML = out.foot || "";
  const errKey = S.errorKey || (v.input_error ? "error." + v.input_error : "");
  const err = $("#error");
  err.hidden = !errKey;
  err.textContent = errKey ? t(errKey, { max: v.max_copies || 10 }) : "";
}

function onView(v) {
  const prev = S.view;
  if (!prev || prev.screen !== v.screen) {
    S.picked = new Set(v.screen === "options" ? v.options || [] : []);
    S.errorKey = "";
    S.hopper = "";
    S.count = "";
  }
  S.view = v;
  render();
}

document.addEventListener("click", (e) => {
  const el = e.target.closest("button");
  if (!el || el.disabled) return;
  if (el.dataset.send) {
    S.errorKey = "";
    send(JSON.parse(el.dataset.send));
  } else if (el.dataset.pick) {
    const id = el.dataset.pick;
    if (S.picked.has(id)) S.picked.delete(id);
    else S.picked.add(id);
    el.classList.toggle("on", S.picked.has(id));
  } else if (el.dataset.next === "subjects") {
    send({ event: "subjects", ids: [...S.picked] });
  } else if (el.dataset.next === "options") {
    send({ event: "options", options: [...S.picked] });
  } else if (el.id === "clerk-key") {
    send({ event: "clerk" });
  } else if (el.dataset.hopper) {
    S.hopper = el.dataset.hopper;
    render();
  } else if (el.dataset.digit) {
    S.count = el.dataset.digit === "C" ? "" : (S.count + el.dataset.digit).slice(0, 5);
    S.errorKey = "";
    render();
  } else if (el.dataset.refill) {
    send({ event: "clerk_refill", hopper: S.hopper, coins: parseInt(S.count || "0", 10) });
    S.count = "";
  } else if (el.dataset.day && S.view && S.view.clerk_report && S.view.clerk_report.day) {
    send({ event: "clerk_report_day", day: shiftDay(S.view.clerk_report.day, parseInt(el.dataset.day, 10)) });
  }
});

// Clerk status is live: ask for it again every few seconds while a clerk screen shows it.
setInterval(() => {
  if (S.view && CLERK_LIVE.has(S.view.screen)) send({ event: "clerk_refresh" });
}, 3000);

// The screen token comes in the URL's fragment (never sent to a server); the kiosk only
// talks to the page that says it first.
const SCREEN_TOKEN = new URLSearchParams(location.hash.slice(1)).get("token") || "";

// The host beats every 0.5 s (host/ui/server.py); a page that hears nothing for 1.5 s — the
// host died, hangs or the link broke — covers itself with "out of service" at once, so nobody
// feeds money to a screen no one is behind. Any message from the host lifts it again.
const HOST_SILENT_MS = 1500;
S.heardAt = Date.now();
S.hostLost = false;

function hostLost(lost) {
  if (lost === S.hostLost) return;
  S.hostLost = lost;
  let cover = $("#host-lost");
  if (lost && !cover) {
    cover = document.createElement("div");
    cover.id = "host-lost";
    cover.dataset.testid = "host-lost";
    document.body.appendChild(cover);
  }
  if (cover) {
    cover.innerHTML = lost ? `<div><h1>${esc(t("host_lost.title"))}</h1><p>${esc(t("host_lost.body"))}</p></div>` : "";
    cover.hidden = !lost;
  }
}

setInterval(() => {
  if (Date.now() - S.heardAt > HOST_SILENT_MS) hostLost(true);
}, 250);

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  S.ws = ws;
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "hello", token: SCREEN_TOKEN }));
    $("#link").classList.remove("down");
  };
  ws.onclose = () => {
    $("#link").classList.add("down");
    hostLost(true);
    setTimeout(connect, 1000);
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    S.heardAt = Date.now();
    hostLost(false);
    if (msg.type === "beat") return;
    if (msg.type === "view") onView(msg);
    else if (msg.type === "pad") {
      S.pad = msg.count;
      if (S.view && (S.view.screen === "pin" || S.view.screen === "clerk_pin")) render();
    } else if (msg.type === "error") {
      S.errorKey = msg.key;
      render();
    }
    document.body.dataset.ready = "1";
  };
}

async function init() {
  S.langs = await (await fetch("/i18n/languages")).json();
  await Promise.all(
    S.langs.map(async (l) => {
      S.cats[l.code] = await (await fetch(`/i18n/${l.code}.json`)).json();
    })
  );
  connect();
}

init();
