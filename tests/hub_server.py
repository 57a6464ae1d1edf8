"""A loopback stand-in for the Hugging Face hub, serving model repos from local directories.

It answers what ``huggingface_hub`` (2.x) needs for ``snapshot_download`` / ``hf_hub_download``:

* ``GET /api/models/{repo_id}/revision/{revision}`` -> ``{"id", "sha", "siblings", ...}``
* ``GET /api/models/{repo_id}/tree/{revision}[/{path}][?recursive=..&expand=..]`` -> a list
  of ``{"type": "file", "path", "size", "oid"[, "lfs"]}``
* ``HEAD`` / ``GET /{repo_id}/resolve/{revision}/{filename}`` with ``X-Repo-Commit``, ``ETag``
  and ``Content-Length`` headers (and the body for GET)
* 404 with ``X-Error-Code: RepoNotFound | RevisionNotFound | EntryNotFound`` otherwise.

A revision is a branch/tag name or a commit sha; each is backed by a directory whose files are
read when the revision is added (the commit sha is derived from their contents). Every request
is logged in :attr:`HubServer.requests` (and :meth:`HubServer.log`) so that a failing test can
show what the client asked for. ``huggingface_hub`` reads ``HF_ENDPOINT`` at import time, so
clients should run in a subprocess whose environment points ``HF_ENDPOINT`` at :attr:`url`.

>>> with HubServer() as hub:                                   # doctest: +SKIP
...     hub.add_repo("acme/asl-hello", {"main": artifact_dir})
...     env = {**os.environ, "HF_ENDPOINT": hub.url}
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["HubServer", "LoggedRequest", "client_env"]

LFS_SUFFIXES = (".tflite", ".bin", ".onnx", ".safetensors", ".h5", ".keras")


@dataclass(frozen=True)
class _File:
    path: str
    data: bytes
    git_sha1: str
    sha256: str

    @property
    def lfs(self) -> bool:
        return self.path.endswith(LFS_SUFFIXES)

    @property
    def etag(self) -> str:
        # like the hub: git blob sha1 for regular files, sha256 for LFS files
        return self.sha256 if self.lfs else self.git_sha1

    def tree_entry(self) -> dict:
        entry = {"type": "file", "path": self.path, "size": len(self.data), "oid": self.git_sha1}
        if self.lfs:
            entry["lfs"] = {"oid": self.sha256, "size": len(self.data), "pointerSize": 134}
        return entry


@dataclass
class _Commit:
    sha: str
    files: dict[str, _File]


@dataclass
class _Repo:
    refs: dict[str, str] = field(default_factory=dict)  # branch/tag -> sha
    commits: dict[str, _Commit] = field(default_factory=dict)

    def resolve(self, revision: str) -> _Commit | None:
        sha = self.refs.get(revision, revision)
        return self.commits.get(sha)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


def _read_dir(directory: Path) -> dict[str, _File]:
    files = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts):
            data = p.read_bytes()
            rel = p.relative_to(directory).as_posix()
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            files[rel] = _File(rel, data, blob, hashlib.sha256(data).hexdigest())
    return files


def _commit_sha(files: dict[str, _File]) -> str:
    h = hashlib.sha1()
    for name, f in sorted(files.items()):
        h.update(f"{name}\0{f.git_sha1}\n".encode())
    return h.hexdigest()


class HubServer:
    """The fake hub: ``ThreadingHTTPServer`` on ``127.0.0.1`` (free port), in a daemon thread."""

    def __init__(self) -> None:
        self.repos: dict[str, _Repo] = {}
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # ------------------------------------------------------------------ repos
    def add_repo(self, repo_id: str, revisions: dict[str, Path]) -> dict[str, str]:
        """Serve ``repo_id``; ``revisions`` maps branch/tag names to directories. Returns the
        commit sha of each revision."""
        repo = self.repos.setdefault(repo_id, _Repo())
        shas = {}
        for ref, directory in revisions.items():
            files = _read_dir(Path(directory))
            if not files:
                raise ValueError(f"{directory} has no files to serve.")
            sha = _commit_sha(files)
            repo.commits[sha] = _Commit(sha, files)
            repo.refs[ref] = sha
            shas[ref] = sha
        return shas

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> HubServer:
        if self._httpd is not None:
            return self
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-hf-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent); later connections are refused."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ log
    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append(LoggedRequest(method, path, status))

    def log(self, since: int = 0) -> str:
        """The requests received (from index ``since``), one per line."""
        with self._lock:
            lines = [str(r) for r in self.requests[since:]]
        return "\n".join(lines) or "(no requests)"

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    server_version = "fake-hf-hub/1.0"

    # ------------------------------------------------------------------ plumbing
    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        pass

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.hub.record(self.command, self.path, status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, obj: object, headers: dict[str, str] | None = None) -> None:
        self._send(200, json.dumps(obj).encode(), headers)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self._send(status, body, {"X-Error-Code": code, "X-Error-Message": message})

    def _repo(self, owner: str, name: str) -> tuple[str, _Repo | None]:
        repo_id = f"{unquote(owner)}/{unquote(name)}"
        return repo_id, self.hub.repos.get(repo_id)

    # ------------------------------------------------------------------ routes
    def do_HEAD(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._route()

    def _route(self) -> None:
        try:
            parts = urlsplit(self.path).path.strip("/").split("/")
            if parts[:2] == ["api", "models"] and len(parts) >= 6:
                if parts[4] == "revision":
                    return self._revision_info(parts[2], parts[3], "/".join(parts[5:]))
                if parts[4] == "tree":
                    return self._tree(parts[2], parts[3], parts[5], "/".join(parts[6:]))
            if len(parts) >= 5 and parts[2] == "resolve":
                return self._resolve(parts[0], parts[1], parts[3], "/".join(parts[4:]))
            self._error(404, "EntryNotFound", f"No route for {self.command} {self.path}")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug here should show up as a 500 in the log, not a hang
            self._send(500, json.dumps({"error": repr(exc)}).encode())

    def _commit(self, owner: str, name: str, revision: str) -> tuple[str, _Commit | None]:
        repo_id, repo = self._repo(owner, name)
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository not found: {repo_id}")
            return repo_id, None
        commit = repo.resolve(unquote(revision))
        if commit is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(revision)}")
        return repo_id, commit

    def _revision_info(self, owner: str, name: str, revision: str) -> None:
        repo_id, commit = self._commit(owner, name, revision)
        if commit is None:
            return
        self._json(
            {
                "_id": commit.sha[:24],
                "id": repo_id,
                "modelId": repo_id,
                "sha": commit.sha,
                "private": False,
                "disabled": False,
                "gated": False,
                "tags": ["aslsign", "tflite"],
                "siblings": [{"rfilename": p} for p in sorted(commit.files)],
            }
        )

    def _tree(self, owner: str, name: str, revision: str, sub: str) -> None:
        _, commit = self._commit(owner, name, revision)
        if commit is None:
            return
        sub = unquote(sub).strip("/")
        recursive = "recursive=true" in urlsplit(self.path).query.lower()
        prefix = f"{sub}/" if sub else ""
        inside = [f for p, f in sorted(commit.files.items()) if p.startswith(prefix)]
        if sub and not inside:
            self._error(404, "EntryNotFound", f"{sub} does not exist on {commit.sha}")
            return
        entries, folders = [], set()
        for f in inside:
            rest = f.path[len(prefix) :]
            if recursive or "/" not in rest:
                entries.append(f.tree_entry())
            if "/" in rest:
                parts = rest.split("/")[:-1]
                depth = len(parts) if recursive else 1
                for i in range(1, depth + 1):
                    folders.add(prefix + "/".join(parts[:i]))
        entries += [{"type": "directory", "path": d, "oid": "0" * 40, "size": 0} for d in folders]
        self._json(entries)

    def _resolve(self, owner: str, name: str, revision: str, filename: str) -> None:
        _, commit = self._commit(owner, name, revision)
        if commit is None:
            return
        filename = unquote(filename)
        f = commit.files.get(filename)
        if f is None:
            self._error(404, "EntryNotFound", f"{filename} does not exist on {commit.sha}")
            return
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{f.etag}"', "Accept-Ranges": "bytes"}
        if f.lfs:
            headers["X-Linked-Etag"] = f'"{f.sha256}"'
            headers["X-Linked-Size"] = str(len(f.data))
        self._send(200, f.data, headers, content_type="application/octet-stream")


def client_env(server: HubServer, hf_home: Path, **extra: str) -> dict[str, str]:
    """The environment of a client process that talks to ``server`` and caches in ``hf_home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_ENDPOINT=server.url or "http://127.0.0.1:9",
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        **extra,
    )
    return env
