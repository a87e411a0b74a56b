"""The schema tells the truth about errors: every operation lists the error answers it can give.

A drf-spectacular postprocessing hook (its documented extension point) adds, where a view did not
document them itself, the answers every edge gives through ``core.api.exception_handler``:
400 (bad query, path or body: field errors), 401 (no or bad credentials), 403 (the role or grant
refuses), 404 (the object in the path is not there or not visible), 409 (a state change the
object's state refuses, or a race another person won).
"""

ERROR = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error a person can act on; ``fields`` holds the errors of each field.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": True},
    },
    "required": ["detail"],
}
DESCRIPTIONS = {
    "400": "Bad request: the query, path or body has invalid fields (see ``fields``).",
    "401": "Not signed in, or the credentials are not valid.",
    "403": "The user's role or grants do not allow this.",
    "404": "No such object, or not one the user may see.",
    "409": "The object's state refuses this action, or someone else acted first.",
}
WRITES = {"post", "put", "patch", "delete"}


def _error_codes(path: str, method: str, operation: dict) -> list[str]:
    public = {} in operation.get("security", [{}])  # AllowAny: no 403 from a permission
    codes = ["400", "401"] if public else ["400", "401", "403"]
    if "{" in path:
        codes.append("404")
    if method in WRITES:
        codes.append("409")
    return codes


def document_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR, ERROR_SCHEMA)
    ref = {"$ref": f"#/components/schemas/{ERROR}"}
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in _error_codes(path, method, operation):
                responses.setdefault(
                    code,
                    {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result
