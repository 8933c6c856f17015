"""Strata's errors as Python exceptions.

Every error Strata raises is a :class:`StrataError` carrying the server's message.
Where LlamaIndex raises a built-in exception in the same place, the Strata class is
that exception too, so code written against LlamaIndex's simple stores keeps working:
``get_document("x", raise_error=True)`` raises :class:`DocumentNotFound`, which is a
``ValueError`` as in ``KVDocumentStore``.
"""


class StrataError(Exception):
    """Any error Strata raises."""


class InvalidInput(StrataError, ValueError):
    """The call's input cannot be what it claims (malformed node, bad argument, ...)."""


class DocumentNotFound(StrataError, ValueError):
    """``get_document`` / ``delete_document`` with ``raise_error=True`` on an unknown id."""


class RefDocNotFound(StrataError, ValueError):
    """``delete_ref_doc`` with ``raise_error=True`` on an unknown ref doc."""


class DocumentExists(StrataError, ValueError):
    """``add_documents(allow_update=False)`` with an id the store already holds."""


class IndexStructNotUnique(StrataError, AssertionError):
    """``get_index_struct()`` without an id while the store does not hold exactly one."""


class UnknownNamespace(StrataError, KeyError):
    """A vector namespace that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class WrongDimension(StrataError, ValueError):
    """A vector whose length is not its namespace's dimension."""


class InvalidVector(StrataError, ValueError):
    """A vector with NaN or infinite components (or all zeros, for cosine)."""


class InvalidFilter(StrataError, ValueError, TypeError):
    """A metadata filter that cannot be evaluated (LlamaIndex raises TypeError or ValueError)."""


class UnsupportedQueryMode(StrataError, ValueError):
    """A vector query mode Strata does not answer (sparse, hybrid, ...)."""


class Unsupported(StrataError, NotImplementedError):
    """A call the store does not offer (LlamaIndex raises NotImplementedError)."""


class InvalidQuery(StrataError, ValueError):
    """A Cypher query that does not parse or cannot run."""


class UnsupportedCypher(InvalidQuery):
    """A Cypher construct outside the read-only subset (CREATE, MERGE, CALL, ...)."""


class Unavailable(StrataError, ConnectionError):
    """The cluster could not answer within the client's deadline (no leader, nodes down)."""


class LimitExceeded(StrataError, ValueError):
    """A request past one of the node's limits (items, id length, dimension, ...)."""


class Unauthenticated(StrataError, PermissionError):
    """No valid API key on the connection (``api_key=`` or ``STRATA_API_KEY``)."""


class PermissionDenied(StrataError, PermissionError):
    """The API key's role or namespace prefixes do not allow the call."""


class IncompatibleVersion(StrataError):
    """Data, a node or a backup of a format or protocol version this build cannot handle
    (the message names both versions)."""


class AlreadyOpen(StrataError):
    """The data directory is open in another process."""


class Closed(StrataError):
    """A call on a handle after its ``close()``."""


class ClusterError(StrataError):
    """A cluster operation that cannot be done."""


class StorageFailure(StrataError, OSError):
    """Disk or database failure."""


class InvalidData(StrataError):
    """Stored data that does not parse."""


class ProtocolError(StrataError):
    """An answer of the wrong shape (a bug: please report it)."""


__all__ = [name for name in dir() if name[0].isupper()]
