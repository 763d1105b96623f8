"""SOQL as text: the lark grammar's parser, string literals, and errors that point into
the query as Salesforce's do (the query line, a caret, Row and Column)."""

from __future__ import annotations

from lark import Token, Tree
from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken

from revsched.localorg.salesforce_errors import SalesforceError
from revsched.soql_syntax import parse as parse_syntax


def parse(soql: str) -> Tree:
    """The query's syntax tree; MALFORMED_QUERY at the first token the grammar cannot take."""
    try:
        return parse_syntax(soql)
    except UnexpectedInput as exc:
        raise _syntax_error(soql, exc) from None


def located_error(soql: str, token: Token | None, code: str, detail: str) -> SalesforceError:
    """Salesforce's query error text: the query line, a caret, the position, the detail."""
    line, column = (token.line or 1, token.column or 1) if token is not None else (1, 1)
    lines = soql.splitlines() or [""]
    text = lines[min(line, len(lines)) - 1]
    message = f"\n{text}\n{' ' * (column - 1)}^\nERROR at Row:{line}:Column:{column}\n{detail}"
    return SalesforceError(400, code, message)


def _syntax_error(soql: str, exc: UnexpectedInput) -> SalesforceError:
    """MALFORMED_QUERY pointing at the first token the grammar cannot take."""
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        lines = soql.splitlines() or [""]
        token = Token("END", "", line=len(lines), column=len(lines[-1]) + 1)
        return located_error(soql, token, "MALFORMED_QUERY", "unexpected token: '<EOF>'")
    text = exc.token if isinstance(exc, UnexpectedToken) else soql[exc.pos_in_stream]
    token = Token("BAD", "", line=exc.line, column=exc.column)
    return located_error(soql, token, "MALFORMED_QUERY", f"unexpected token: '{text}'")


def decode_string(raw: str) -> tuple[str, str]:
    """A SOQL string literal's value, and its LIKE pattern (where \\% and \\_ stay escaped)."""
    simple = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'"}
    plain: list[str] = []
    like: list[str] = []
    body = raw[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            plain.append(ch)
            like.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in simple:
            plain.append(simple[nxt])
            like.append(simple[nxt])
        elif nxt == "\\":
            plain.append("\\")
            like.append("\\\\")
        elif nxt in "%_":
            plain.append(nxt)
            like.append("\\" + nxt)
        elif nxt == "u" and len(body) >= i + 6:
            char = chr(int(body[i + 2 : i + 6], 16))
            plain.append(char)
            like.append(char)
            i += 4
        else:
            raise ValueError(
                f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}'"
            )
        i += 2
    return "".join(plain), "".join(like)


def error_token(node: Tree | Token) -> Token:
    """The token an error about this expression points at: a path's last name, or a
    function's name."""
    if isinstance(node, Token):
        return node
    if node.data == "call":
        return node.children[0]  # type: ignore[return-value]
    if node.data == "path":
        return node.children[-1]  # type: ignore[return-value]
    return error_token(node.children[0])  # type: ignore[arg-type]


def unknown_type(soql: str, name: Token) -> SalesforceError:
    return located_error(
        soql,
        name,
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a custom "
        "object, be sure to append the '__c' after the entity name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )
