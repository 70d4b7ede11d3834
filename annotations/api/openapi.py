"""The API's OpenAPI 3.1 description, served at /api/schema/ and shown at /api/.

Written out rather than generated: the API speaks W3C JSON-LD, whose shapes no serializer
library models, and the description is tested against the running API (tests/integration/
annotations/test_api_fuzz.py runs schemathesis against it).
"""

from __future__ import annotations

from annotations.jsonld import MEDIA_TYPE

JSONLD = {"schema": {"$ref": "#/components/schemas/Annotation"}}
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _response(description: str, schema: str | None = None, **headers: str) -> dict:
    response: dict = {"description": description}
    if schema:
        ref = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
        response["content"] = {MEDIA_TYPE: ref, "application/json": ref}
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return response


def _error(description: str) -> dict:
    return {"description": description, "content": ERROR}


SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "description": "The document's slug, as in its page's address /documents/<slug>/.",
    "schema": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
}
PK = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
PAGE = {
    "name": "page",
    "in": "query",
    "required": False,
    "description": "A page of the collection, counting from 0.",
    "schema": {"type": "integer", "minimum": 0},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The ETag from your last GET. Without it: 428; if it is stale: 412.",
    "schema": {"type": "string"},
}
ITEM_HEADERS = {
    "ETag": "Changes whenever the annotation does; send it back in If-Match.",
    "Allow": "The methods this resource accepts.",
    "Link": "The resource's LDP type.",
    "Vary": "Accept: JSON-LD, or plain JSON when asked for.",
}
SECURITY = [{"token": []}, {"session": []}, {}]


def _item(kind: str, path: str) -> dict:
    return {
        "parameters": [PK],
        "get": {
            "summary": f"One {kind}",
            "operationId": f"get_{kind}",
            "security": SECURITY,
            "responses": {
                "200": _response(f"The {kind}.", "Annotation", **ITEM_HEADERS),
                "404": _error("No such thing, or you may not see it."),
            },
        },
        "put": {
            "summary": f"Replace the {kind}'s body, tags, colour and visibility",
            "description": "The whole annotation, as from GET, with your changes. Its target "
            "cannot change.",
            "operationId": f"put_{kind}",
            "security": SECURITY[:2],
            "parameters": [IF_MATCH],
            "requestBody": {
                "required": True,
                "content": {MEDIA_TYPE: JSONLD, "application/ld+json": JSONLD},
            },
            "responses": {
                "200": _response(f"The changed {kind}.", "Annotation", **ITEM_HEADERS),
                "400": _error("The annotation is not valid; the message says why."),
                "401": _error("Not logged in and no token."),
                "403": _error("You may see it but not change it (or the CSRF check failed)."),
                "404": _error("No such thing, or you may not see it."),
                "412": _error("If-Match is stale: someone changed it since you read it."),
                "415": _error("Not JSON."),
                "428": _error("If-Match is missing."),
                "429": _error("Too many writes: wait Retry-After seconds."),
            },
        },
        "delete": {
            "summary": f"Delete the {kind}",
            "operationId": f"delete_{kind}",
            "security": SECURITY[:2],
            "parameters": [IF_MATCH],
            "responses": {
                "204": {"description": "Deleted."},
                "401": _error("Not logged in and no token."),
                "403": _error("You may see it but not delete it."),
                "404": _error("No such thing, or you may not see it."),
                "412": _error("If-Match is stale."),
                "428": _error("If-Match is missing."),
            },
        },
    }


def description(base: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Marginalia Web Annotation API",
            "version": "1.0",
            "description": (
                "W3C Web Annotation Data Model and Protocol. Annotations are JSON-LD with the "
                "context http://www.w3.org/ns/anno.jsonld. Authenticate with a personal API "
                "token (`Authorization: Bearer <token>`, made on your account page) or a "
                "logged-in session (writes then need the CSRF token). You see and change "
                "exactly what you could on the site's pages."
            ),
        },
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "Selector": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": {
                            "type": "string",
                            "enum": [
                                "TextQuoteSelector",
                                "TextPositionSelector",
                                "FragmentSelector",
                                "RangeSelector",
                            ],
                        },
                        "exact": {"type": "string"},
                        "prefix": {"type": "string"},
                        "suffix": {"type": "string"},
                        "start": {"type": "integer", "minimum": 0},
                        "end": {"type": "integer", "minimum": 0},
                        "value": {"type": "string", "description": "p-<paragraph key>"},
                        "refinedBy": {"type": "object"},
                        "startSelector": {"type": "object"},
                        "endSelector": {"type": "object"},
                    },
                },
                "Body": {
                    "type": "object",
                    "required": ["type", "value"],
                    "properties": {
                        "type": {"const": "TextualBody"},
                        "value": {"type": "string"},
                        "format": {"type": "string", "examples": ["text/markdown"]},
                        "purpose": {"type": "string", "enum": ["commenting", "tagging"]},
                    },
                },
                "Annotation": {
                    "type": "object",
                    "required": ["type", "target"],
                    "properties": {
                        "@context": {},
                        "id": {"type": "string", "format": "uri"},
                        "type": {"const": "Annotation"},
                        "motivation": {
                            "type": "string",
                            "enum": [
                                "highlighting",
                                "commenting",
                                "replying",
                                "tagging",
                                "questioning",
                            ],
                        },
                        "body": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/Body"},
                                {"type": "array", "items": {"$ref": "#/components/schemas/Body"}},
                            ]
                        },
                        "target": {
                            "description": "The document with selectors; for a reply, the IRI "
                            "it answers; for a discussion of the whole document, its IRI.",
                            "oneOf": [
                                {"type": "string", "format": "uri"},
                                {
                                    "type": "object",
                                    "properties": {
                                        "source": {"type": "string"},
                                        "selector": {
                                            "oneOf": [
                                                {"$ref": "#/components/schemas/Selector"},
                                                {
                                                    "type": "array",
                                                    "items": {
                                                        "$ref": "#/components/schemas/Selector"
                                                    },
                                                },
                                            ]
                                        },
                                        "styleClass": {"type": "string"},
                                    },
                                },
                            ],
                        },
                        "creator": {"type": "object"},
                        "created": {"type": "string", "format": "date-time"},
                        "modified": {"type": "string", "format": "date-time"},
                        "mrg:visibility": {
                            "type": "string",
                            "enum": ["private", "group", "public"],
                        },
                        "mrg:group": {"type": "string"},
                    },
                },
                "Collection": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "id": {"type": "string"},
                        "type": {},
                        "total": {"type": "integer"},
                        "first": {},
                        "last": {"type": "string"},
                        "items": {"type": "array"},
                        "next": {"type": "string"},
                        "prev": {"type": "string"},
                    },
                },
            },
        },
        "paths": {
            "/api/documents/{slug}/annotations/": {
                "parameters": [SLUG],
                "get": {
                    "summary": "The document's annotations (an AnnotationCollection)",
                    "description": "Without `page`, the collection with its first page "
                    "embedded; with `page`, that AnnotationPage, with `next` and `prev`.",
                    "operationId": "list_annotations",
                    "security": SECURITY,
                    "parameters": [PAGE],
                    "responses": {
                        "200": _response("The collection or the page.", "Collection"),
                        "400": _error("A bad page number."),
                        "404": _error("No such document, or no such page."),
                    },
                },
                "post": {
                    "summary": "Create an annotation (or a reply)",
                    "description": "Target the document with a TextQuoteSelector and either "
                    "a FragmentSelector `p-<key>` refined by a TextPositionSelector, or a "
                    "TextPositionSelector over the whole text; the server checks the quote. "
                    "A FragmentSelector alone opens a discussion of that paragraph; the "
                    "document's IRI alone, of the whole document. A reply has motivation "
                    "`replying` and targets the IRI it answers. `mrg:visibility` (private, "
                    "group, public; default private) and `mrg:group` (a group's slug) say who "
                    "sees it.",
                    "operationId": "create_annotation",
                    "security": SECURITY[:2],
                    "requestBody": {
                        "required": True,
                        "content": {MEDIA_TYPE: JSONLD, "application/ld+json": JSONLD},
                    },
                    "responses": {
                        "201": _response(
                            "Created.",
                            "Annotation",
                            Location="The new annotation's IRI.",
                            **ITEM_HEADERS,
                        ),
                        "400": _error("The annotation is not valid; the message says why."),
                        "401": _error("Not logged in and no token."),
                        "403": _error("The CSRF check failed."),
                        "404": _error("No such document."),
                        "413": _error("The body is too large."),
                        "415": _error("Not JSON."),
                        "429": _error("Too many writes: wait Retry-After seconds."),
                    },
                },
            },
            "/api/annotations/{id}": _item("annotation", "/api/annotations/{id}"),
            "/api/annotations/{id}/replies/": {
                "parameters": [PK],
                "get": {
                    "summary": "An annotation's replies (an AnnotationCollection)",
                    "operationId": "list_replies",
                    "security": SECURITY,
                    "parameters": [PAGE],
                    "responses": {
                        "200": _response("The thread.", "Collection"),
                        "400": _error("A bad page number."),
                        "404": _error("No such annotation, or you may not see it."),
                    },
                },
            },
            "/api/replies/{id}": _item("reply", "/api/replies/{id}"),
            "/api/search": {
                "get": {
                    "summary": "Search documents' text, notes and replies",
                    "description": "Web-search syntax: quoted phrases, -word, or. Results "
                    "are only what you may see.",
                    "operationId": "search",
                    "security": SECURITY,
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {"name": "document", "in": "query", "schema": {"type": "string"}},
                        {"name": "group", "in": "query", "schema": {"type": "string"}},
                        {"name": "author", "in": "query", "schema": {"type": "string"}},
                        {"name": "tag", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "kind",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["all", "notes", "replies", "text"],
                            },
                        },
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "until",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "Ranked results.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": _error("A bad parameter; the message says which."),
                    },
                },
            },
        },
    }
