// Boussole web page: one question, the answer from /v1/recommend, "show in context" from
// /v1/chunks/{id}. Vanilla JS, no build step. All data goes through textContent: no HTML
// is ever built from server data.
"use strict";

const STRINGS = {
  fr: {
    skip: "Aller aux résultats",
    tagline: "Ce que les Directives internationales d'ONU-Habitat sur les villes intelligentes centrées sur les personnes proposent pour le problème de votre ville, avec les références à citer.",
    label: "Décrivez le problème de votre ville (en français ou en anglais)",
    hint: "Entrée pour envoyer, Maj+Entrée pour aller à la ligne.",
    actorLabel: "Mesures destinées à",
    actorAny: "tous les acteurs",
    submit: "Chercher",
    results: "Résultats",
    footer: "Sources : ONU-Habitat, HSP/HA.2/14 et documents associés. Les passages sont affichés dans la langue de la question ; les versions anglaises sont des traductions non officielles de Boussole, le texte français fait foi.",
    searching: "Recherche en cours…",
    empty: "Décrivez d'abord le problème en quelques mots.",
    failed: "La recherche a échoué : ",
    network: "Le service ne répond pas. Réessayez dans un instant.",
    outOfScope: "Hors du champ des Directives",
    weakMatches: "Passages les plus proches (correspondance faible)",
    weakNote: "Ce ne sont pas des recommandations : les Directives ne semblent pas traiter ce problème.",
    confidence: "confiance",
    pillars: "Piliers concernés",
    principles: "Principes",
    measures: "Mesures",
    examples: "Exemples de villes",
    examplesNote: "Tirés du compte-rendu de la conférence de l'AIMF (Hué, 2025).",
    noMeasures: "Aucune mesure trouvée pour cet acteur.",
    context: "Voir dans le contexte",
    hideContext: "Masquer le contexte",
    contextOf: "Contexte de",
    loading: "Chargement…",
    cite: "Référence",
    pillar: "Pilier",
    colon: " : ",
    translated: (kind, shown, original) =>
      `Traduction ${shown} ${kind === "official" ? "officielle" : "non officielle"} — original ${original}`,
    languageName: { fr: "français", en: "anglais" },
    translationName: { fr: "française", en: "anglaise" },
    originalCite: "Référence de l'original",
    switchTo: "Show in English",
    switchLang: "en",
    actor: {
      "local-regional": "collectivités locales et régionales",
      national: "gouvernements nationaux",
      stakeholders: "parties prenantes",
      joint: "tous les acteurs ensemble",
      unspecified: "acteur non précisé",
    },
    actorGroup: {
      "local-regional": "Ce que les collectivités locales et régionales sont invitées à faire",
      national: "Ce que les gouvernements nationaux sont invités à faire",
      stakeholders: "Ce que les parties prenantes sont encouragées à faire",
      joint: "Ce que tous les acteurs sont invités à faire ensemble",
      unspecified: "Autres mesures",
    },
    more: (n) => `Afficher ${n} autre(s) principe(s) et mesure(s), moins proches du problème`,
    moreTitle: "Autres principes et mesures (correspondance plus faible)",
  },
  en: {
    skip: "Skip to results",
    tagline: "What UN-Habitat's International Guidelines on People-Centred Smart Cities propose for your city's problem, with the references to cite.",
    label: "Describe your city's problem (in English or French)",
    hint: "Enter to send, Shift+Enter for a new line.",
    actorLabel: "Measures addressed to",
    actorAny: "all actors",
    submit: "Search",
    results: "Results",
    footer: "Sources: UN-Habitat, HSP/HA.2/14 and related documents. Passages are shown in the language of your question; the English texts are Boussole's unofficial translations, and the French original is the authoritative text.",
    searching: "Searching…",
    empty: "First describe the problem in a few words.",
    failed: "The search failed: ",
    network: "The service does not answer. Try again in a moment.",
    outOfScope: "Outside the Guidelines",
    weakMatches: "Closest passages (weak matches)",
    weakNote: "These are not recommendations: the Guidelines do not seem to deal with this problem.",
    confidence: "confidence",
    pillars: "Pillars involved",
    principles: "Principles",
    measures: "Measures",
    examples: "City examples",
    examplesNote: "From the report of the AIMF conference (Hue, 2025).",
    noMeasures: "No measure found for this actor.",
    context: "Show in context",
    hideContext: "Hide context",
    contextOf: "Context of",
    loading: "Loading…",
    cite: "Reference",
    pillar: "Pillar",
    colon: ": ",
    translated: (kind, shown, original) =>
      `${kind === "official" ? "Official" : "Unofficial"} ${shown} translation — ${original} original`,
    languageName: { fr: "French", en: "English" },
    translationName: { fr: "French", en: "English" },
    originalCite: "Reference of the original",
    switchTo: "Afficher en français",
    switchLang: "fr",
    actor: {
      "local-regional": "local and regional governments",
      national: "national governments",
      stakeholders: "stakeholders",
      joint: "all actors together",
      unspecified: "actor not specified",
    },
    actorGroup: {
      "local-regional": "What local and regional governments are asked to do",
      national: "What national governments are asked to do",
      stakeholders: "What stakeholders are encouraged to do",
      joint: "What all actors are asked to do together",
      unspecified: "Other measures",
    },
    more: (n) => `Show ${n} more principle(s) and measure(s), weaker matches`,
    moreTitle: "More principles and measures (weaker matches)",
  },
};

let lang = (navigator.language || "fr").toLowerCase().startsWith("fr") ? "fr" : "en";
const t = (key) => STRINGS[lang][key];

// Build an element; children are nodes or strings (strings become text nodes).
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function setLanguage(next) {
  lang = next === "fr" ? "fr" : "en";
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const value = STRINGS[lang][node.dataset.i18n] ?? STRINGS[lang].actor[node.dataset.i18n.replace("actor_", "")];
    if (typeof value === "string") node.textContent = value;
  }
  document.title = lang === "fr"
    ? "Boussole – villes intelligentes centrées sur les personnes"
    : "Boussole – people-centred smart cities";
}

// The server gives each pillar's title in the answer's language.
function pillarTitle(key, title) {
  return title || key;
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  return { ok: response.ok, data: await response.json() };
}

// ------------------------------------------------------------------ rendering

function badges(item) {
  const list = el("p", { class: "badges" });
  if (item.pillar) {
    list.append(el("span", { class: "badge pillar" }, `${t("pillar")}${t("colon")}`,
      pillarTitle(item.pillar, item.pillar_title)));
  }
  if (item.actor) {
    list.append(el("span", { class: "badge actor" }, t("actor")[item.actor] || item.actor));
  }
  return list;
}

function itemCard(item) {
  const contextId = `ctx-${item.id.replace(/[^a-zA-Z0-9_-]/g, "-")}-${Math.random().toString(36).slice(2, 8)}`;
  const panel = el("div", { class: "context", id: contextId, hidden: true });
  const button = el("button", {
    type: "button", class: "secondary show-context", "aria-expanded": "false", "aria-controls": contextId,
  }, t("context"));
  button.addEventListener("click", () => toggleContext(item, button, panel));
  return el("article", { class: "item", "data-id": item.id, lang: item.lang },
    el("p", { class: "text" }, item.text),
    el("p", { class: "citation" }, el("span", { class: "label" }, `${t("cite")} `), el("cite", {}, item.citation)),
    originalDisclosure(item),
    badges(item),
    button,
    panel,
  );
}

// A translated passage says so, and opens onto the authoritative text it translates.
function originalDisclosure(item) {
  if (!item.original) return null;
  const name = (code, names) => names[code] || code;
  const summary = t("translated")(item.translation, name(item.lang, t("translationName")),
    name(item.original.lang, t("languageName")));
  return el("details", { class: "original" },
    el("summary", {}, summary),
    el("blockquote", { lang: item.original.lang }, el("p", {}, item.original.text)),
    el("p", { class: "citation" }, el("span", { class: "label" }, `${t("originalCite")} `),
      el("cite", { lang: item.original.lang }, item.original.citation)));
}

async function toggleContext(item, button, panel) {
  const open = button.getAttribute("aria-expanded") === "true";
  if (open) {
    button.setAttribute("aria-expanded", "false");
    button.textContent = t("context");
    panel.hidden = true;
    return;
  }
  button.setAttribute("aria-expanded", "true");
  button.textContent = t("hideContext");
  panel.hidden = false;
  if (panel.dataset.loaded) return;
  panel.replaceChildren(el("p", {}, t("loading")));
  try {
    const response = await fetch(`/v1/chunks/${encodeURIComponent(item.id)}?before=2&after=2`);
    const data = await response.json();
    if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
    const list = el("ol", { class: "neighbours", "aria-label": `${t("contextOf")} ${item.citation}` });
    for (const chunk of data.neighbours) {
      const current = chunk.id === item.id;
      list.append(el("li", { class: current ? "current" : null, "aria-current": current ? "true" : null, lang: chunk.lang },
        el("p", { class: "citation" }, el("cite", {}, chunk.citation)),
        el("p", {}, chunk.text)));
    }
    const heading = data.chunk.section && data.chunk.section.length
      ? el("p", { class: "section" }, data.chunk.section.join(" › ")) : null;
    panel.replaceChildren(...[heading, list].filter(Boolean));
    panel.dataset.loaded = "1";
  } catch (error) {
    panel.replaceChildren(el("p", { class: "error" }, `${t("failed")}${error.message}`));
  }
}

function renderAnswer(data) {
  const answer = document.getElementById("answer");
  const status = document.getElementById("status");
  if (!data.in_scope) {
    status.replaceChildren(el("div", { class: "notice out-of-scope" },
      el("p", { class: "notice-title" }, t("outOfScope")),
      el("p", {}, data.message),
      el("p", { class: "muted" }, `${t("confidence")}${t("colon")}${Math.round(data.confidence * 100)} %`),
      languageSwitch()));
    const weak = data.weak_matches || [];
    answer.replaceChildren(...(weak.length ? [el("section", { class: "weak", "aria-labelledby": "h-weak" },
      el("h2", { id: "h-weak" }, t("weakMatches")),
      el("p", { class: "muted" }, t("weakNote")),
      weak.map(itemCard))] : []));
    return;
  }
  status.replaceChildren(el("div", { class: "notice" },
    el("p", {}, data.message),
    languageSwitch()));

  const parts = [];
  if (data.pillars.length) {
    parts.push(el("section", { class: "pillars", "aria-labelledby": "h-pillars" },
      el("h2", { id: "h-pillars" }, t("pillars")),
      el("ul", { class: "chips" }, data.pillars.map((p) =>
        el("li", { class: "badge pillar" }, `${pillarTitle(p.key, p.title)} (${p.count})`)))));
  }
  if (data.principles.length) {
    parts.push(el("section", { "aria-labelledby": "h-principles" },
      el("h2", { id: "h-principles" }, t("principles")),
      data.principles.map(itemCard)));
  }
  parts.push(el("section", { "aria-labelledby": "h-measures" },
    el("h2", { id: "h-measures" }, t("measures")),
    data.measures.length
      ? data.measures.map((group) => el("section", { class: "group", "data-actor": group.actor },
        el("h3", {}, t("actorGroup")[group.actor] || group.actor),
        group.measures.map(itemCard)))
      : el("p", {}, t("noMeasures"))));
  if (data.examples.length) {
    parts.push(el("section", { "aria-labelledby": "h-examples" },
      el("h2", { id: "h-examples" }, t("examples")),
      el("p", { class: "muted" }, t("examplesNote")),
      data.examples.map(itemCard)));
  }
  const more = data.more || [];
  if (more.length) parts.push(moreSection(more));
  answer.replaceChildren(...parts);
}

// The next principles and measures below the answer's cut, behind a button: the answer
// stops where the evidence stops, a reader who wants more asks for it.
function moreSection(items) {
  const list = el("section", { id: "more-items", class: "more", "aria-labelledby": "h-more", hidden: true },
    el("h2", { id: "h-more" }, t("moreTitle")),
    items.map(itemCard));
  const button = el("button", {
    type: "button", class: "secondary", id: "show-more", "aria-expanded": "false", "aria-controls": "more-items",
  }, t("more")(items.length));
  button.addEventListener("click", () => {
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
    button.hidden = true;
    list.querySelector("h2").setAttribute("tabindex", "-1");
    list.querySelector("h2").focus();
  });
  return el("div", {}, el("p", { class: "switch" }, button), list);
}

// The whole answer again in the other language (the same question, answer_lang flipped).
function languageSwitch() {
  const target = t("switchLang");
  return el("p", { class: "switch" }, el("button", {
    type: "button", class: "secondary", id: "switch-lang", lang: target,
    onclick: () => { if (lastRequest) send({ ...lastRequest, answer_lang: target }, "switch-lang"); },
  }, t("switchTo")));
}

function showError(message) {
  document.getElementById("answer").replaceChildren();
  document.getElementById("status").replaceChildren(el("div", { class: "notice error" }, el("p", {}, message)));
}

let lastRequest = null;

async function ask(event) {
  event.preventDefault();
  const problem = document.getElementById("problem").value.trim();
  const actor = document.getElementById("actor").value || null;
  if (!problem) {
    showError(t("empty"));
    document.getElementById("problem").focus();
    return;
  }
  const request = actor ? { problem, actor } : { problem };
  lastRequest = request;
  await send(request, null);
}

// POST the question; `refocus` names a control to give the focus back to once the answer
// is drawn (the language switch is redrawn with it, and a keyboard user stays in place).
async function send(request, refocus) {
  const button = document.getElementById("submit");
  const results = document.getElementById("results");
  results.setAttribute("aria-busy", "true");
  button.disabled = true;
  document.getElementById("status").replaceChildren(el("p", {}, t("searching")));
  try {
    const { ok, data } = await postJSON("/v1/recommend", request);
    if (!ok) {
      showError(`${t("failed")}${data.error ? data.error.message : ""}`);
      return;
    }
    const shown = data.answer_lang || data.query_lang;
    if (shown === "fr" || shown === "en") setLanguage(shown);
    renderAnswer(data);
    if (refocus) document.getElementById(refocus)?.focus();
  } catch (error) {
    showError(t("network"));
  } finally {
    button.disabled = false;
    results.removeAttribute("aria-busy");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setLanguage(lang);
  const form = document.getElementById("ask");
  const box = document.getElementById("problem");
  form.addEventListener("submit", ask);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  box.focus();
});
