"""The HTTP API.

Fast part: the app in-process (TestClient runs the lifespan) over a small deterministic
fake searcher, for the error shape and the answer's assembly.
Slow part: a real `boussole serve` process over the session's built index, queried with
httpx: every endpoint, every error, cross-lingual search, the out-of-scope signal.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from boussole.index.config import DEFAULT_FUSION, FusionConfig
from boussole.index.errors import ChunkNotFound, IndexNotFound, QueryError
from boussole.index.filters import FILTER_FIELDS, FilterColumns, Filters
from boussole.index.models import Hit, SearchResult
from boussole.ingest.models import ACTORS, Chunk, Document
from boussole.service import routes, schemas
from boussole.service.app import create_app
from boussole.service.cut import DEFAULT_CUT
from boussole.service.recommend import recommend
from boussole.service.settings import Settings

GUIDE = "hsp-ha-2-14"


# ================================================================ fake searcher


def _chunk(
    n: int,
    kind: str,
    text: str,
    actor: str | None = None,
    pillar: str | None = None,
    doc: str = GUIDE,
    para: str = "40",
    item: str | None = None,
) -> Chunk:
    cid = f"{doc}:{para}" + (f".{item}" if item else "")
    citation = f"HSP/HA.2/14, para. {para}" + (f" ({item})" if item else "")
    return Chunk(
        id=cid,
        doc_id=doc,
        text=text,
        lang="fr",
        citation=citation,
        kind=kind,
        order=n,
        section=["Piliers", "Durabilité"],
        paragraph=para,
        item=item,
        pillar=pillar,
        actor=actor,
        context="",
    )


FAKE_CHUNKS = [
    _chunk(0, "principle", "Les villes doivent être résilientes face aux inondations.", pillar="thematic-2", para="38"),
    _chunk(
        1,
        "measure",
        "Alerter les habitants des inondations par des systèmes d'alerte.",
        "local-regional",
        "thematic-2",
        item="b",
    ),
    _chunk(
        2,
        "measure",
        "Financer les systèmes d'alerte précoce contre les inondations.",
        "national",
        "enabling-4",
        para="39",
        item="a",
    ),
    _chunk(
        3, "measure", "Partager les données sur les inondations.", "stakeholders", "enabling-2", para="41", item="c"
    ),
    _chunk(4, "measure", "Tous coopèrent pour l'alerte aux inondations.", "joint", "thematic-2", para="42", item="d"),
    _chunk(
        5,
        "city-example",
        "À Hué, un système d'alerte aux inondations prévient les habitants.",
        doc="aimf-2025-hue",
        para="12",
    ),
]
FAKE_DOCS = [
    Document(id=GUIDE, title="Directives", lang="fr", kind="guidelines", source="x.txt", symbol="HSP/HA.2/14"),
    Document(id="aimf-2025-hue", title="Compte-rendu AIMF", lang="fr", kind="conference-report", source="y.md"),
]


class FakeSearcher:
    """Word-overlap ranking over FAKE_CHUNKS, with the real searcher's error contract and
    its filters (index.filters)."""

    documents = FAKE_DOCS
    columns = FilterColumns(FAKE_CHUNKS)
    fusion = DEFAULT_FUSION  # read by recommend, unused by this ranking

    def filter_values(self) -> dict[str, list[str]]:
        return self.columns.values()

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters = Filters(),
        mode: str = "hybrid",
        answer_lang: str = "auto",
        fusion: FusionConfig | None = None,
    ) -> SearchResult:
        if not query.strip():
            raise QueryError("the query is empty", field="query")
        if answer_lang not in ("auto", "fr", "en"):
            raise QueryError(f"no version in {answer_lang!r}", field="answer_lang", valid=["auto", "en", "fr"])
        filters = self.columns.check(filters)
        words = set(re.findall(r"\w+", query.lower()))
        scored = []
        for c in FAKE_CHUNKS:
            if not filters.admits(c):
                continue
            overlap = len(words & set(re.findall(r"\w+", c.text.lower())))
            if overlap:
                scored.append((overlap, -c.order, c))
        scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
        hits = [Hit(c, float(s), r, 0.85) for r, (s, _, c) in enumerate(scored[:k], start=1)]
        query_lang = "en" if "the" in words else "fr"
        shown = query_lang if answer_lang == "auto" else answer_lang
        return SearchResult(query, query_lang, hits, 1.0, answer_lang=shown)

    def chunk(self, chunk_id: str) -> Chunk:
        for c in FAKE_CHUNKS:
            if c.id == chunk_id:
                return c
        raise ChunkNotFound(f"no chunk with id {chunk_id!r}")

    def neighbours(self, chunk_id: str, before: int = 2, after: int = 2) -> list[Chunk]:
        c = self.chunk(chunk_id)
        same = [x for x in FAKE_CHUNKS if x.doc_id == c.doc_id]
        at = same.index(c)
        return same[max(0, at - before) : at + after + 1]


@dataclass(frozen=True)
class FakeScope:
    in_scope: bool
    confidence: float
    reason: str


def fake_assess(result: SearchResult) -> FakeScope:
    if not result.hits:
        return FakeScope(False, 0.05, "no match")
    return FakeScope(True, 0.9, "fake")


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(data_dir=tmp_path), open_searcher=lambda settings: FakeSearcher())
    app.dependency_overrides[routes.get_scope_assessor] = lambda: fake_assess
    with TestClient(app) as c:  # the context runs the lifespan
        yield c


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "field", "valid"}
    assert isinstance(error["message"], str) and len(error["message"]) > 10
    assert "Input should" not in error["message"]  # pydantic jargon is rewritten
    assert isinstance(error["valid"], list)
    if code:
        assert error["code"] == code, error
    return error


# ================================================================ fast: contracts


def test_schema_constants_follow_the_library():
    from boussole.index.searcher import MAX_QUERY_CHARS

    assert schemas.MAX_QUERY_CHARS == MAX_QUERY_CHARS
    assert set(typing.get_args(schemas.Actor)) == set(ACTORS)


# ================================================================ fast: error shape

BAD_REQUESTS = [
    # (method, path, raw body or json, expected status, expected code, expected field)
    ("post", "/v1/search", b"{garbage", 422, "invalid_json", None),
    ("post", "/v1/search", b"", 422, "invalid_body", None),
    ("post", "/v1/search", b"[1, 2]", 422, "invalid_body", None),
    ("post", "/v1/search", b"null", 422, "invalid_body", None),
    ("post", "/v1/search", {}, 422, "missing_field", "query"),
    ("post", "/v1/search", {"query": ""}, 422, "empty_field", "query"),
    ("post", "/v1/search", {"query": "   \n "}, 422, "empty_field", "query"),
    ("post", "/v1/search", {"query": 42}, 422, "invalid_type", "query"),
    ("post", "/v1/search", {"query": "x", "k": 0}, 422, "out_of_range", "k"),
    ("post", "/v1/search", {"query": "x", "k": 51}, 422, "out_of_range", "k"),
    ("post", "/v1/search", {"query": "x", "k": "ten"}, 422, "invalid_type", "k"),
    ("post", "/v1/search", {"query": "x", "k": 2.5}, 422, "invalid_type", "k"),
    ("post", "/v1/search", {"query": "x", "filter": {}}, 422, "unknown_field", "filter"),
    ("post", "/v1/search", {"query": "x", "filters": []}, 422, "invalid_type", "filters"),
    ("post", "/v1/search", {"query": "x", "filters": {"doc": "hsp"}}, 422, "invalid_type", "filters.doc"),
    ("post", "/v1/search", {"query": "x", "filters": {"colour": ["red"]}}, 422, "unknown_field", "filters.colour"),
    ("post", "/v1/search", {"query": "x" * 2001}, 422, "query_too_long", "query"),
    ("post", "/v1/recommend", {"problem": "x" * 2001}, 422, "query_too_long", "problem"),
    ("post", "/v1/recommend", {"query": "inondations"}, 422, "missing_field", "problem"),
    ("post", "/v1/recommend", b"\xff\xfe not utf8", 422, "invalid_json", None),
    ("get", "/v1/chunks/nope:1", None, 404, "chunk_not_found", None),
    ("get", "/v1/chunks/hsp-ha-2-14:40.b?before=-1", None, 422, "out_of_range", "before"),
    ("get", "/v1/chunks/hsp-ha-2-14:40.b?after=x", None, 422, "invalid_type", "after"),
    ("get", "/v1/nothing-here", None, 404, "not_found", None),
    ("get", "/v1/search", None, 405, "method_not_allowed", None),
]


@pytest.mark.parametrize("method,path,body,status,code,field", BAD_REQUESTS)
def test_bad_requests_get_one_readable_error_shape(client, method, path, body, status, code, field):
    if isinstance(body, bytes):
        response = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    elif body is None:
        response = client.request(method, path)
    else:
        response = client.request(method, path, json=body)
    error = assert_error_shape(response, status, code)
    assert error["field"] == field


def test_long_query_message_gives_length_and_limit(client):
    error = assert_error_shape(client.post("/v1/search", json={"query": "é" * 2500}), 422, "query_too_long")
    assert "2,500" in error["message"] and "2,000" in error["message"]


def test_wrong_content_type_is_explained(client):
    response = client.post("/v1/search", content=b'{"query": "x"}', headers={"Content-Type": "text/plain"})
    error = assert_error_shape(response, 422, "invalid_body")
    assert "application/json" in error["message"]


def test_huge_body_is_refused_before_parsing(client):
    response = client.post(
        "/v1/search", content=b'{"query": "' + b"a" * 200_000 + b'"}', headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 413, "request_too_large")


def test_unknown_filter_value_lists_the_valid_ones(client):
    error = assert_error_shape(
        client.post("/v1/search", json={"query": "inondations", "filters": {"doc": ["nope"]}}), 422, "invalid_filter"
    )
    assert error["field"] == "filters.doc"
    assert error["valid"] == ["aimf-2025-hue", GUIDE]
    assert error["message"] == f"unknown doc 'nope': choose one of aimf-2025-hue, {GUIDE}"


def test_unknown_actor_in_recommend_lists_the_valid_ones(client):
    error = assert_error_shape(
        client.post("/v1/recommend", json={"problem": "inondations", "actor": "mayor"}), 422, "invalid_value"
    )
    assert error["field"] == "actor"
    assert set(error["valid"]) == set(ACTORS) | {"all"}


def test_library_errors_keep_the_shape_in_the_fast_app(client):
    # QueryError raised by the searcher itself (empty after the fake's own check)
    assert_error_shape(client.get("/v1/chunks/hsp-ha-2-14:99"), 404, "chunk_not_found")


def test_not_ready_without_lifespan_is_503(tmp_path):
    app = create_app(Settings(data_dir=tmp_path), open_searcher=lambda s: FakeSearcher())
    bare = TestClient(app)  # not entered: the lifespan has not run, nothing is loaded
    assert bare.get("/healthz").json() == {"status": "ok"}
    assert_error_shape(bare.get("/readyz"), 503, "not_ready")
    assert_error_shape(bare.post("/v1/search", json={"query": "x"}), 503, "not_ready")


def test_startup_without_index_fails_with_a_clear_message(tmp_path, caplog):
    def missing(settings):
        raise IndexNotFound(f"no index in {settings.index_dir}")

    app = create_app(Settings(data_dir=tmp_path), open_searcher=missing)
    with pytest.raises(IndexNotFound):
        with TestClient(app):
            pass
    assert "boussole build" in caplog.text


def test_serve_refuses_to_start_without_index(tmp_path):
    from click.testing import CliRunner

    from boussole.service.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "run `boussole build` first" in result.output


# ================================================================ fast: endpoints


def test_search_maps_hits(client):
    body = client.post("/v1/search", json={"query": "alerte inondations", "k": 3}).json()
    assert body["query_lang"] == "fr" and len(body["results"]) == 3
    first = body["results"][0]
    assert {
        "id",
        "rank",
        "score",
        "text",
        "citation",
        "doc_id",
        "doc_title",
        "kind",
        "pillar",
        "actor",
        "section",
        "paragraph",
        "item",
        "lang",
        "context",
    } <= set(first)
    assert [r["rank"] for r in body["results"]] == [1, 2, 3]


def test_recommend_groups_measures_local_first(client):
    body = client.post("/v1/recommend", json={"problem": "alerte inondations habitants"}).json()
    assert body["in_scope"] is True
    assert [p["id"] for p in body["principles"]] == ["hsp-ha-2-14:38"]
    actors = [g["actor"] for g in body["measures"]]
    # the stakeholders' measure shares one word of three with the problem, under half the
    # best measure's score: below the cut, kept in `more`
    assert actors == ["local-regional", "national", "joint"]
    assert [m["id"] for m in body["more"]] == ["hsp-ha-2-14:41.c"]
    assert body["examples"][0]["doc_id"] == "aimf-2025-hue"
    assert body["pillars"][0] == {
        "key": "thematic-2",
        "title": "Durabilité, résilience et réponse aux crises",
        "count": 3,
    }
    assert all(m["citation"] for g in body["measures"] for m in g["measures"])


def test_recommend_with_actor_keeps_that_actor_and_all(client):
    body = client.post("/v1/recommend", json={"problem": "alerte inondations", "actor": "national"}).json()
    assert [g["actor"] for g in body["measures"]] == ["national", "joint"]
    # "all" means every actor, as leaving it out does
    every = client.post("/v1/recommend", json={"problem": "alerte inondations", "actor": "all"}).json()
    unset = client.post("/v1/recommend", json={"problem": "alerte inondations"}).json()
    assert every["measures"] == unset["measures"] and len(every["measures"]) >= 3


class RecordingSearcher(FakeSearcher):
    """The fake searcher, noting the filters of every search."""

    def __init__(self) -> None:
        self.asked: list[Filters] = []

    def search(self, query: str, k: int = 10, filters: Filters = Filters(), **options) -> SearchResult:
        self.asked.append(filters)
        return super().search(query, k, filters, **options)


def test_recommend_applies_the_actor_once_and_searches_again_only_when_short():
    ranked = RecordingSearcher()
    # The fake ranking holds one national measure: enough for an answer that needs one.
    one = DEFAULT_CUT.with_(least_measures=1)
    rec = recommend(ranked, "alerte inondations", actor="national", assess=fake_assess, answer_cut=one)
    assert rec.searches == 1 and ranked.asked == [Filters()]
    # The ranking holds a principle and no measure: one more search, with the measures' filters.
    short = RecordingSearcher()
    rec = recommend(short, "villes résilientes", actor="national", assess=fake_assess)
    assert [i.chunk.id for i in rec.principles] == ["hsp-ha-2-14:38"] and rec.measures == ()
    assert rec.searches == 2
    assert short.asked == [Filters(), Filters(doc=(GUIDE,), kind=("measure",), actor=("national", "joint"))]


def test_recommend_out_of_scope_has_no_recommendations(client):
    body = client.post("/v1/recommend", json={"problem": "zzz qqq"}).json()
    assert body["in_scope"] is False
    assert body["principles"] == [] and body["measures"] == [] and body["examples"] == []
    assert "ne semblent pas traiter ce problème" in body["message"]
    assert body["weak_matches"] == [] and body["scope_reason"]


def test_chunk_in_context(client):
    body = client.get("/v1/chunks/hsp-ha-2-14:39.a?before=1&after=1").json()
    assert body["chunk"]["id"] == "hsp-ha-2-14:39.a"
    assert [c["id"] for c in body["neighbours"]] == ["hsp-ha-2-14:40.b", "hsp-ha-2-14:39.a", "hsp-ha-2-14:41.c"]


def test_documents_filters_and_docs(client):
    assert [d["id"] for d in client.get("/v1/documents").json()["documents"]] == [GUIDE, "aimf-2025-hue"]
    assert "actor" in client.get("/v1/filters").json()["values"]
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/search", "/v1/recommend", "/v1/chunks/{chunk_id}", "/v1/documents", "/healthz", "/readyz"} <= set(
        paths
    )


def test_page_and_assets_are_served_without_external_references(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css"):
        response = client.get(asset)
        assert response.status_code == 200
        assert not re.search(r"https?://", response.text), asset
    assert not re.search(r"(src|href)=\"https?://", page.text)
    assert "innerHTML" not in client.get("/static/app.js").text


# ================================================================ slow: a real server process

slow = pytest.mark.slow


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@slow
def test_health_and_readiness(http):
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


@slow
def test_documents_endpoint(http):
    ids = {d["id"] for d in http.get("/v1/documents").json()["documents"]}
    assert {GUIDE, "hsp-ha-2-res-1", "hsp-eb-2023-16", "eb-2020-partnership", "aimf-2025-hue"} <= ids


@slow
def test_cross_lingual_search_through_http(http):
    response = http.post(
        "/v1/search", json={"query": "floods arrive without warning, residents are not alerted", "k": 5}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query_lang"] == "en" and body["answer_lang"] == "en"
    assert "hsp-ha-2-14:40.b" in [r["original"]["id"] for r in body["results"] if r["original"]]
    hit = next(r for r in body["results"] if r["original"] and r["original"]["id"] == "hsp-ha-2-14:40.b")
    # shown in English, an unofficial translation, the French original one field away
    assert hit["id"] == "hsp-ha-2-14-en:40.b" and hit["lang"] == "en" and hit["translation"] == "unofficial"
    assert hit["citation"] == hit["original"]["citation"] == "HSP/HA.2/14, para. 40 (b)"
    assert hit["doc_title"].startswith("Draft international guidelines") and "unofficial" in hit["doc_title"]
    assert hit["original"]["lang"] == "fr" and "alerte" in hit["original"]["text"]
    assert hit["pillar_title"] == "Sustainability, resilience and crisis response"
    assert body["scope_reason"] == "The guidelines address this kind of problem."

    french = http.post(
        "/v1/search",
        json={"query": "floods arrive without warning, residents are not alerted", "k": 5, "answer_lang": "fr"},
    ).json()
    first = next(r for r in french["results"] if r["id"] == "hsp-ha-2-14:40.b")
    assert first["translation"] is None and first["original"] is None and first["lang"] == "fr"
    assert french["scope_reason"] == "Les Directives traitent ce type de problème."
    assert [r["id"].replace("-en:", ":") for r in body["results"]] == [r["id"] for r in french["results"]]


@slow
def test_search_filters_through_http(http):
    body = http.post(
        "/v1/search",
        json={
            "query": "participation citoyenne",
            "k": 10,
            "filters": {"doc": [GUIDE], "kind": ["measure"], "actor": ["local-regional"]},
        },
    ).json()
    assert body["results"]
    assert all(
        r["doc_id"] == GUIDE and r["kind"] == "measure" and r["actor"] == "local-regional" for r in body["results"]
    )


@slow
@pytest.mark.parametrize(
    "name,value",
    [("doc", "no-such-doc"), ("pillar", "thematic-9"), ("kind", "poem"), ("actor", "mayor"), ("lang", "de")],
)
def test_unknown_filter_value_through_http(http, name, value):
    response = http.post("/v1/search", json={"query": "données", "filters": {name: [value]}})
    error = assert_error_shape(response, 422, "invalid_filter")
    assert error["field"] == f"filters.{name}" and value in error["message"]
    assert error["valid"] and value not in error["valid"]
    if name == "pillar":
        assert "thematic-1" in error["valid"] and "enabling-4" in error["valid"]


@slow
@pytest.mark.parametrize("method,path,body,status,code,field", BAD_REQUESTS)
def test_bad_requests_through_http(http, method, path, body, status, code, field):
    if isinstance(body, bytes):
        response = http.request(method, path, content=body, headers={"Content-Type": "application/json"})
    elif body is None:
        response = http.request(method, path)
    else:
        response = http.request(method, path, json=body)
    assert assert_error_shape(response, status, code)["field"] == field


@slow
def test_chunk_with_neighbours_through_http(http):
    body = http.get("/v1/chunks/hsp-ha-2-14:40.b").json()
    assert body["chunk"]["citation"] == "HSP/HA.2/14, para. 40 (b)"
    ids = [c["id"] for c in body["neighbours"]]
    assert "hsp-ha-2-14:40.b" in ids and 3 <= len(ids) <= 5
    assert all(c["doc_id"] == GUIDE for c in body["neighbours"])


IN_SCOPE = [
    "floods arrive without warning, residents are not alerted",
    "Nos habitants âgés n'arrivent pas à utiliser les services administratifs en ligne",
    "comment protéger les données personnelles collectées par les capteurs de la ville",
]
OUT_OF_SCOPE = ["a recipe for chocolate cake", "football results from last weekend", "comment réparer un vélo"]


@slow
@pytest.mark.parametrize("problem", IN_SCOPE)
def test_recommend_in_scope(http, problem):
    response = http.post("/v1/recommend", json={"problem": problem})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["in_scope"] is True, body["message"]
    assert DEFAULT_CUT.least_principles <= len(body["principles"]) <= DEFAULT_CUT.most_principles
    assert all(p["kind"] == "principle" and p["citation"] for p in body["principles"])
    measures = [m for g in body["measures"] for m in g["measures"]]
    assert DEFAULT_CUT.least_measures <= len(measures) <= DEFAULT_CUT.most_measures
    # the next items wait behind "more", weaker than the weakest shown of their kind
    shown = body["principles"] + measures
    assert len(body["more"]) <= DEFAULT_CUT.more
    assert all(m["score"] <= max(i["score"] for i in shown) for m in body["more"])
    assert not {m["id"] for m in body["more"]} & {i["id"] for i in shown}
    assert all(m["kind"] == "measure" and m["actor"] and m["citation"].startswith("HSP/HA.2/14") for m in measures)
    assert all(g["actor"] == m["actor"] for g in body["measures"] for m in g["measures"])
    assert body["pillars"] and all(p["key"] and p["title"] for p in body["pillars"])


@slow
def test_recommend_flood_problem_points_at_40_b(http):
    body = http.post("/v1/recommend", json={"problem": IN_SCOPE[0]}).json()
    ids = [m["id"] for g in body["measures"] for m in g["measures"]]
    assert "hsp-ha-2-14-en:40.b" in ids
    assert body["query_lang"] == body["answer_lang"] == "en"
    assert all(m["lang"] == "en" and m["original"]["lang"] == "fr" for g in body["measures"] for m in g["measures"])
    assert "measure(s) of the Guidelines" in body["message"]


@slow
def test_recommend_for_one_actor(http):
    body = http.post("/v1/recommend", json={"problem": IN_SCOPE[2], "actor": "local-regional"}).json()
    assert body["measures"][0]["actor"] == "local-regional"
    assert {g["actor"] for g in body["measures"]} <= {"local-regional", "joint"}


@slow
@pytest.mark.parametrize("problem", OUT_OF_SCOPE)
def test_recommend_out_of_scope(http, problem):
    body = http.post("/v1/recommend", json={"problem": problem}).json()
    assert body["in_scope"] is False, (problem, body["confidence"])
    assert body["confidence"] < 0.5
    assert body["principles"] == [] and body["measures"] == []
    assert body["message"]
    # the closest passages are still shown, marked as weak matches and not as advice
    assert 1 <= len(body["weak_matches"]) <= 5 and all(m["citation"] for m in body["weak_matches"])


@slow
def test_serve_with_empty_data_dir_exits_with_build_hint(tmp_path):
    from server import start

    server = start(tmp_path)
    try:
        code = server.process.wait(timeout=60)
        assert code != 0
        assert "boussole build" in server.log()
    finally:
        server.process.kill() if server.process.poll() is None else None
        Path(server.log_path).unlink(missing_ok=True)


@slow
def test_search_reports_scope_and_folds_repeated_measures(http):
    text = http.get("/v1/chunks/hsp-ha-2-14:69.k").json()["chunk"]["text"]
    body = http.post("/v1/search", json={"query": text, "k": 10}).json()
    assert body["in_scope"] is True and body["confidence"] > 0.5
    ids = [r["id"] for r in body["results"]]
    assert ("hsp-ha-2-14:69.k" in ids) != ("hsp-ha-2-14:77.g" in ids)
    folded = next(r for r in body["results"] if r["id"] in ("hsp-ha-2-14:69.k", "hsp-ha-2-14:77.g"))
    assert {"hsp-ha-2-14:69.k", "hsp-ha-2-14:77.g"} - {folded["id"]} <= set(folded["duplicates"])
    assert body["results"][0]["similarity"] > 0 and all(-1 <= r["similarity"] <= 1 for r in body["results"])
    off = http.post("/v1/search", json={"query": "a recipe for chocolate cake", "k": 3}).json()
    assert off["in_scope"] is False and off["confidence"] < 0.5
    assert len(off["results"]) == 3 and "weak matches" in off["scope_reason"]


@slow
def test_tool_definitions_match_the_endpoints(http):
    tools = {t["function"]["name"]: t for t in http.get("/v1/tools").json()}
    assert set(tools) == {"boussole_search", "boussole_recommend", "boussole_get_passage", "boussole_list_documents"}
    search_params = tools["boussole_search"]["function"]["parameters"]
    assert search_params["required"] == ["query"]
    assert "$ref" not in json.dumps(tools)
    filters = search_params["properties"]["filters"]["properties"]
    assert set(filters) == {"doc", "kind", "pillar", "actor", "lang"}
    # The valid values come from the index, as /v1/filters gives them.
    valid = http.get("/v1/filters").json()["values"]
    assert all(filters[name]["items"]["enum"] == valid[name] for name in filters)
    assert "local-regional" in filters["actor"]["items"]["enum"]
    # A call built from each definition is accepted by the endpoint it names.
    assert tools["boussole_recommend"]["x-endpoint"] == "POST /v1/recommend"
    assert tools["boussole_recommend"]["x-arguments"] == "body"
    response = http.post("/v1/recommend", json={"problem": "les habitants n'ont pas accès à internet"})
    assert response.status_code == 200
    passage = tools["boussole_get_passage"]
    assert passage["x-arguments"] == "path-and-query"
    assert set(passage["function"]["parameters"]["properties"]) == {"id", "before", "after"}
    method, path = passage["x-endpoint"].split(" ")
    assert method == "GET"
    got = http.get(path.replace("{chunk_id}", "hsp-ha-2-14:40.b"), params={"before": 1, "after": 0})
    assert got.status_code == 200 and len(got.json()["neighbours"]) == 2
    method, path = tools["boussole_list_documents"]["x-endpoint"].split(" ")
    assert http.get(path).status_code == 200


# ================================================================ slow: HTTP hygiene on the real server

EXTERNAL_ORIGIN = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@slow
@pytest.mark.parametrize(
    "body",
    [
        {"query": "inondations", "k": True},
        {"query": "inondations", "k": "5"},
        {"query": "inondations", "k": 2.5},
    ],
    ids=["k-true", "k-string", "k-fraction"],
)
def test_k_must_be_a_json_integer(http, body):
    error = assert_error_shape(http.post("/v1/search", json=body), 422, "invalid_type" if body["k"] != 2.5 else None)
    assert error["field"] == "k"


@slow
def test_k_written_as_a_whole_float_is_an_integer(http):
    # JSON Schema's "integer" includes 5.0: what the schema allows, the service accepts.
    response = http.post("/v1/search", json={"query": "inondations", "k": 5.0})
    assert response.status_code == 200 and len(response.json()["results"]) == 5


@slow
@pytest.mark.parametrize("blank", ["\u001e", "\u00a0\u001c", " \u0085 "])
def test_blank_query_is_invalid_by_the_schema_and_refused_by_the_service(http, blank):
    schema = http.get("/openapi.json").json()["components"]["schemas"]
    for model, field in (("SearchRequest", "query"), ("RecommendRequest", "problem")):
        pattern = schema[model]["properties"][field]["pattern"]
        assert not re.search(pattern, blank), (model, blank)
        assert re.search(pattern, "a" + blank)
    assert_error_shape(http.post("/v1/search", json={"query": blank}), 422)
    assert_error_shape(http.post("/v1/recommend", json={"problem": blank}), 422)


@slow
def test_schema_lists_the_filter_values_the_service_accepts(http):
    valid = http.get("/v1/filters").json()["values"]
    props = http.get("/openapi.json").json()["components"]["schemas"]["SearchFilters"]["properties"]
    assert set(props) == set(valid) == set(FILTER_FIELDS)
    for name, values in valid.items():
        assert props[name]["items"]["enum"] == values, name
        for value in values:  # every listed value is accepted
            response = http.post("/v1/search", json={"query": "ville", "k": 1, "filters": {name: [value]}})
            assert response.status_code == 200, (name, value, response.text)
    actor = http.get("/openapi.json").json()["components"]["schemas"]["RecommendRequest"]["properties"]["actor"]
    assert set(actor["anyOf"][0]["enum"]) == set(ACTORS) | {"all"}


@slow
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/healthz",
        "/v1/documents",
        "/v1/chunks/hsp-ha-2-14:40.b",
        "/docs",
        "/openapi.json",
        "/static/app.js",
        "/favicon.ico",
    ],
)
def test_head_answers_like_get_without_a_body(http, path):
    get = http.get(path)
    head = http.head(path)
    assert get.status_code == 200
    assert head.status_code == 200, head.text
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers.get("content-length") == get.headers.get("content-length")


@slow
def test_head_on_an_unknown_path_is_404(http):
    assert http.head("/nope").status_code == 404


@slow
@pytest.mark.parametrize("path", ["/", "/v1/documents", "/docs", "/redoc", "/v1/chunks/nope"])
def test_security_headers_on_page_api_docs_and_errors(http, path):
    headers = http.get(path).headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert not re.search(r"https?:|//|\*", csp), csp  # no external origin, no wildcard
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


@slow
def test_cors_is_closed_by_default(http):
    origin = {"origin": "https://elsewhere.example"}
    simple = http.get("/v1/documents", headers=origin)
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers
    preflight = http.options(
        "/v1/search",
        headers={**origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type"},
    )
    assert "access-control-allow-origin" not in preflight.headers


@slow
def test_favicon_is_an_icon(http):
    response = http.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # ICO header
    assert 'rel="icon"' in http.get("/").text


@slow
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(http, path):
    page = http.get(path)
    assert page.status_code == 200
    assert not EXTERNAL_ORIGIN.search(page.text), page.text
    assert "<script>" not in page.text  # the CSP allows no inline script
    for asset in re.findall(r"""(?:src|href)="(/[^"]+)\"""", page.text):
        assert http.get(asset).status_code == 200, asset


# ================================================================ CORS when configured


def test_cors_origins_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BOUSSOLE_CORS_ORIGINS", "https://city.example, https://other.example/")
    assert Settings.from_env().cors_origins == ("https://city.example", "https://other.example")
    monkeypatch.delenv("BOUSSOLE_CORS_ORIGINS")
    assert Settings.from_env().cors_origins == ()


def test_cors_allows_only_the_configured_origins(tmp_path):
    settings = Settings(data_dir=tmp_path, cors_origins=("https://city.example",))
    app = create_app(settings, open_searcher=lambda s: FakeSearcher())
    with TestClient(app) as c:
        allowed = c.options(
            "/v1/search",
            headers={
                "origin": "https://city.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://city.example"
        other = c.get("/v1/documents", headers={"origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
        same = c.get("/v1/documents", headers={"origin": "https://city.example"})
        assert same.headers["access-control-allow-origin"] == "https://city.example"
