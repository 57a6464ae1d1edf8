"""A loopback stand-in for the Hugging Face hub, serving model repos from local directories.

It answers what ``huggingface_hub`` (2.x) needs for ``snapshot_download`` / ``hf_hub_download``:

* ``GET /api/models/{repo_id}/revision/{revision}`` -> ``{"id", "sha", "siblings", ...}``
* ``GET /api/models/{repo_id}/tree/{revision}[/{path}][?recursive=..&expand=..]`` -> a list
  of ``{"type": "file", "path", "size", "oid"[, "lfs"]}``
* ``HEAD`` / ``GET /{repo_id}/resolve/{revision}/{filename}`` with ``X-Repo-Commit``, ``ETag``
  and ``Content-Length`` headers (and the body for GET)
* 404 with ``X-Error-Code: RepoNotFound | RevisionNotFound | EntryNotFound`` otherwise.

and what ``HfApi.create_repo`` / ``create_branch`` / ``upload_folder`` (``create_commit``) need
to publish, over the plain LFS protocol (clients must run with ``HF_HUB_DISABLE_XET=1``, which
:func:`client_env` sets: with ``hf_xet`` installed the client otherwise uploads through Xet
storage, which this server does not speak; it answers the Xet token request with 501):

* ``POST /api/repos/create`` ``{"name", "organization", "visibility"?}`` -> ``{"url"}``; a new
  repo gets an initial commit holding ``.gitattributes``, like the hub; 409 (with ``url``) if
  the repo exists
* ``POST /api/models/{repo_id}/branch/{branch}`` ``{"startingPoint"?}``: a branch at the head of
  ``main`` (or of the starting point); 409 if it exists
* ``POST /api/validate-yaml`` ``{"content"}``: 400 if the README's front matter is no mapping
* ``POST /api/models/{repo_id}/preupload/{revision}`` ``{"files": [{"path", "sample", "size"}]}``
  -> ``uploadMode`` ``lfs`` for the suffixes in :data:`LFS_SUFFIXES` (``.tflite``, ...),
  ``regular`` otherwise, and the ``oid`` of the file already at that path (so unchanged files
  are skipped)
* ``POST /{repo_id}.git/info/lfs/objects/batch`` (``operation: upload``, basic transfer) ->
  per object either no ``actions`` (already stored) or an ``upload`` href
  ``PUT /lfs-upload/{oid}?key=..`` (the content must hash to ``oid``) and a ``verify`` href
  ``POST /{repo_id}.git/info/lfs/objects/verify``
* ``POST /api/models/{repo_id}/commit/{revision}`` (ndjson: ``header``, then ``file`` with
  inline base64 content, ``lfsFile`` naming a stored LFS object, ``deletedFile`` /
  ``deletedFolder``) -> ``{"commitOid", "commitUrl"}``: a new commit whose files are the
  parent's with these changes, recorded with its message and parent; the branch moves to it and
  the download endpoints above serve it.

Creating a repo or branch, preupload, the LFS batch and commits need ``Authorization: Bearer``
:attr:`HubServer.token` (401 otherwise; the LFS ``PUT`` carries a one-time key in its URL
instead, like a presigned upload URL), and so do reads of a repo created private (404 without).

A revision is a branch/tag name or a commit sha; each is backed by a
directory whose files are read when the revision is added (the commit sha is derived from their
contents), or by a pushed commit. Every request is logged in :attr:`HubServer.requests` (and
:meth:`HubServer.log`) so that a failing test can show what the client asked for.
``huggingface_hub`` reads ``HF_ENDPOINT`` at import time, so clients should run in a subprocess
whose environment points ``HF_ENDPOINT`` at :attr:`url`.

>>> with HubServer() as hub:                                   # doctest: +SKIP
...     hub.add_repo("acme/asl-hello", {"main": artifact_dir})
...     env = {**os.environ, "HF_ENDPOINT": hub.url}
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

__all__ = ["WRITE_TOKEN", "HubServer", "LoggedRequest", "client_env", "run_client_script"]

LFS_SUFFIXES = (".tflite", ".bin", ".onnx", ".safetensors", ".h5", ".keras")
#: The token a :class:`HubServer` accepts for writes (and reads of private repos) by default.
WRITE_TOKEN = "hf_loopback_write_token"
LFS_OBJECTS = ["info", "lfs", "objects"]
NO_XET = "this loopback hub has no Xet storage: run the client with HF_HUB_DISABLE_XET=1"
GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES)


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
    message: str = ""
    parent: str | None = None


@dataclass
class _Repo:
    refs: dict[str, str] = field(default_factory=dict)  # branch/tag -> sha
    commits: dict[str, _Commit] = field(default_factory=dict)
    private: bool = False

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


def _file(path: str, data: bytes) -> _File:
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return _File(path, data, blob, hashlib.sha256(data).hexdigest())


def _read_dir(directory: Path) -> dict[str, _File]:
    files = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts):
            rel = p.relative_to(directory).as_posix()
            files[rel] = _file(rel, p.read_bytes())
    return files


def _commit_sha(files: dict[str, _File]) -> str:
    h = hashlib.sha1()
    for name, f in sorted(files.items()):
        h.update(f"{name}\0{f.git_sha1}\n".encode())
    return h.hexdigest()


class HubServer:
    """The fake hub: ``ThreadingHTTPServer`` on ``127.0.0.1`` (free port), in a daemon thread."""

    def __init__(self, token: str = WRITE_TOKEN) -> None:
        self.repos: dict[str, _Repo] = {}
        self.token = token
        self.lfs: dict[str, bytes] = {}  # sha256 -> content of the uploaded LFS objects
        self._upload_keys: dict[str, str] = {}  # one-time key of an issued LFS upload -> oid
        self.requests: list[LoggedRequest] = []
        self._lock = threading.RLock()  # held while a write is checked and answered
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
            repo.commits[sha] = _Commit(sha, files, f"files of {directory}")
            repo.refs[ref] = sha
            shas[ref] = sha
        return shas

    def history(self, repo_id: str, revision: str = "main") -> list[_Commit]:
        """The commits of ``revision``, newest first (following each commit's parent)."""
        repo = self.repos[repo_id]
        commit, chain = repo.resolve(revision), []
        while commit is not None:
            chain.append(commit)
            commit = repo.commits.get(commit.parent) if commit.parent else None
        return chain

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of ``revision`` of ``repo_id`` (path -> content)."""
        commit = self.repos[repo_id].resolve(revision)
        if commit is None:
            raise KeyError(f"{repo_id} has no revision {revision!r}")
        return {path: f.data for path, f in commit.files.items()}

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

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.hub.token}"

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, then the blank line
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    # ------------------------------------------------------------------ routes
    def do_HEAD(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_PUT(self) -> None:
        self._route()

    def _route(self) -> None:
        try:
            body = self._body() if self.command in ("POST", "PUT") else b""
            parts = urlsplit(self.path).path.strip("/").split("/")
            if self.command in ("GET", "HEAD"):
                return self._route_read(parts)
            if self.command == "PUT" and len(parts) == 2 and parts[0] == "lfs-upload":
                return self._lfs_put(parts[1], body)
            if self.command != "POST":
                return self._error(405, "MethodNotAllowed", f"No route for {self.command}")
            if parts == ["api", "validate-yaml"]:
                return self._validate_yaml(json.loads(body))
            if not self._authorized():
                return self._error(
                    401, "Unauthorized", "Invalid credentials in Authorization header"
                )
            if parts == ["api", "repos", "create"]:
                return self._create_repo(json.loads(body))
            if parts[:2] == ["api", "models"] and len(parts) >= 6:
                owner, name, action, rest = parts[2], parts[3], parts[4], "/".join(parts[5:])
                if action == "branch":
                    return self._create_branch(owner, name, rest, json.loads(body or b"{}"))
                if action == "preupload":
                    return self._preupload(owner, name, rest, json.loads(body))
                if action == "commit":
                    return self._create_commit(owner, name, rest, body)
                if action == "xet-write-token":
                    return self._error(501, "XetNotSupported", NO_XET)
            if len(parts) == 6 and parts[1].endswith(".git") and parts[2:5] == LFS_OBJECTS:
                owner, name = parts[0], parts[1][: -len(".git")]
                if parts[5] == "batch":
                    return self._lfs_batch(owner, name, json.loads(body))
                if parts[5] == "verify":
                    return self._lfs_verify(json.loads(body))
            self._error(404, "EntryNotFound", f"No route for {self.command} {self.path}")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug here should show up as a 500 in the log, not a hang
            self._send(500, json.dumps({"error": repr(exc)}).encode())

    def _route_read(self, parts: list[str]) -> None:
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            if parts[4] == "revision":
                return self._revision_info(parts[2], parts[3], "/".join(parts[5:]))
            if parts[4] == "tree":
                return self._tree(parts[2], parts[3], parts[5], "/".join(parts[6:]))
            if parts[4] == "xet-write-token":
                return self._error(501, "XetNotSupported", NO_XET)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(parts[0], parts[1], parts[3], "/".join(parts[4:]))
        self._error(404, "EntryNotFound", f"No route for {self.command} {self.path}")

    def _commit(self, owner: str, name: str, revision: str) -> tuple[str, _Commit | None]:
        repo_id, repo = self._repo(owner, name)
        if repo is None or (repo.private and not self._authorized()):
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
                "private": self.hub.repos[repo_id].private,
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

    # ------------------------------------------------------------------ publishing
    def _repo_url(self, repo_id: str) -> str:
        return f"{self.hub.url}/{repo_id}"

    def _create_repo(self, payload: dict) -> None:
        if payload.get("type", "model") != "model":
            return self._error(400, "BadRequest", "this loopback hub serves model repos only")
        name, org = payload.get("name"), payload.get("organization")
        repo_id = f"{org}/{name}" if org else str(name)
        with self.hub._lock:
            if repo_id in self.hub.repos:
                body = {
                    "error": "You already created this model repo",
                    "url": self._repo_url(repo_id),
                }
                return self._send(409, json.dumps(body).encode(), {"X-Error-Code": "RepoExists"})
            initial = {".gitattributes": _file(".gitattributes", GITATTRIBUTES.encode())}
            sha = hashlib.sha1(f"initial commit of {repo_id}".encode()).hexdigest()
            repo = _Repo(
                private=payload.get("visibility") == "private" or bool(payload.get("private"))
            )
            repo.commits[sha] = _Commit(sha, initial, "initial commit")
            repo.refs["main"] = sha
            self.hub.repos[repo_id] = repo
        self._json({"url": self._repo_url(repo_id), "name": repo_id, "id": sha[:24]})

    def _create_branch(self, owner: str, name: str, branch: str, payload: dict) -> None:
        branch = unquote(branch)
        start = str(payload.get("startingPoint") or "main")
        _, commit = self._commit(owner, name, start)
        if commit is None:
            return
        _, repo = self._repo(owner, name)
        assert repo is not None
        with self.hub._lock:
            if branch in repo.refs:
                return self._error(409, "BranchExists", f"Reference {branch} already exists")
            repo.refs[branch] = commit.sha
        self._json({})

    def _validate_yaml(self, payload: dict) -> None:
        content = str(payload.get("content", ""))
        errors: list[dict] = []
        if content.lstrip().startswith("---"):
            block = content.lstrip().split("\n---", 1)[0][3:]
            try:
                meta = yaml.safe_load(block)
            except yaml.YAMLError as exc:
                errors.append({"message": f"YAML error: {exc}"})
            else:
                if meta is not None and not isinstance(meta, dict):
                    errors.append({"message": "metadata must be a mapping"})
                elif meta and not isinstance(meta.get("license", ""), str):
                    errors.append({"message": '"license" must be a string'})
        body = json.dumps({"errors": errors, "warnings": []}).encode()
        self._send(400 if errors else 200, body)

    def _preupload(self, owner: str, name: str, revision: str, payload: dict) -> None:
        _, commit = self._commit(owner, name, revision)
        if commit is None:
            return
        files = []
        for f in payload["files"]:
            existing = commit.files.get(f["path"])
            files.append(
                {
                    "path": f["path"],
                    "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) else "regular",
                    "shouldIgnore": False,
                    "oid": existing.etag if existing else None,
                }
            )
        self._json({"files": files, "commitOid": commit.sha})

    def _lfs_batch(self, owner: str, name: str, payload: dict) -> None:
        repo_id, repo = self._repo(owner, name)
        if repo is None:
            return self._error(404, "RepoNotFound", f"Repository not found: {repo_id}")
        if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", []):
            return self._error(400, "BadRequest", "only basic LFS uploads are served")
        objects = []
        for obj in payload["objects"]:
            oid, size = str(obj["oid"]), int(obj["size"])
            entry: dict = {"oid": oid, "size": size, "authenticated": True}
            if oid not in self.hub.lfs:
                key = secrets.token_hex(8)
                with self.hub._lock:
                    self.hub._upload_keys[key] = oid
                entry["actions"] = {
                    "upload": {"href": f"{self.hub.url}/lfs-upload/{oid}?key={key}", "header": {}},
                    "verify": {
                        "href": f"{self.hub.url}/{repo_id}.git/info/lfs/objects/verify",
                        "header": {},
                    },
                }
            objects.append(entry)
        body = json.dumps({"transfer": "basic", "objects": objects}).encode()
        self._send(200, body, content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, oid: str, data: bytes) -> None:
        key = parse_qs(urlsplit(self.path).query).get("key", [""])[0]
        if self.hub._upload_keys.get(key) != oid:
            return self._error(403, "Forbidden", "no LFS upload was issued for this URL")
        if hashlib.sha256(data).hexdigest() != oid:
            return self._error(400, "BadRequest", f"uploaded content does not hash to {oid}")
        with self.hub._lock:
            self.hub.lfs[oid] = data
            del self.hub._upload_keys[key]
        self._send(200)

    def _lfs_verify(self, payload: dict) -> None:
        data = self.hub.lfs.get(str(payload.get("oid")))
        if data is None or len(data) != payload.get("size"):
            return self._error(404, "EntryNotFound", f"LFS object {payload.get('oid')} not stored")
        self._json({})

    def _create_commit(self, owner: str, name: str, revision: str, body: bytes) -> None:
        revision = unquote(revision)
        repo_id, repo = self._repo(owner, name)
        if repo is None:
            return self._error(404, "RepoNotFound", f"Repository not found: {repo_id}")
        if "create_pr" in urlsplit(self.path).query:
            return self._error(400, "BadRequest", "this loopback hub does not open pull requests")
        if revision not in repo.refs:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            return self._error(400, "BadRequest", "a commit starts with a header line")
        header = lines[0]["value"]
        with self.hub._lock:
            parent = repo.commits[repo.refs[revision]]
            if header.get("parentCommit") not in (None, parent.sha):
                msg = f"parentCommit {header['parentCommit']} is not the head {parent.sha}"
                return self._error(412, "PreconditionFailed", msg)
            files = dict(parent.files)
            for line in lines[1:]:
                key, value = line["key"], line["value"]
                path = value["path"]
                if key == "file":
                    if path.endswith(LFS_SUFFIXES):
                        msg = f"{path} must be uploaded with LFS (see .gitattributes)"
                        return self._error(400, "BadRequest", msg)
                    files[path] = _file(path, base64.b64decode(value["content"]))
                elif key == "lfsFile":
                    data = self.hub.lfs.get(value["oid"])
                    if data is None:
                        msg = f"LFS object {value['oid']} of {path} was never uploaded"
                        return self._error(422, "UnprocessableEntity", msg)
                    files[path] = _file(path, data)
                elif key == "deletedFile":
                    if files.pop(path, None) is None:
                        return self._error(404, "EntryNotFound", f"{path} does not exist")
                elif key == "deletedFolder":
                    prefix = path.rstrip("/") + "/"
                    files = {p: f for p, f in files.items() if not p.startswith(prefix)}
                else:
                    return self._error(400, "BadRequest", f"unknown commit operation {key!r}")
            h = hashlib.sha1(f"{parent.sha}\n{header.get('summary', '')}\n".encode())
            h.update(_commit_sha(files).encode() + str(len(repo.commits)).encode())
            sha = h.hexdigest()
            repo.commits[sha] = _Commit(sha, files, str(header.get("summary", "")), parent.sha)
            repo.refs[revision] = sha
        self._json(
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self._repo_url(repo_id)}/commit/{sha}",
                "hookOutput": "",
            }
        )


def client_env(server: HubServer, hf_home: Path, **extra: str) -> dict[str, str]:
    """The environment of a client process that talks to ``server`` and caches in ``hf_home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_ENDPOINT=server.url or "http://127.0.0.1:9",
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
        HF_HUB_DISABLE_XET="1",  # uploads over plain LFS: the loopback hub has no Xet storage
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        **extra,
    )
    return env


def run_client_script(
    server: HubServer, code: str, spec: object, env: dict[str, str], timeout: float = 180
) -> list[dict]:
    """Run ``python -c code json(spec)`` with ``env``; the script prints ``RESULTS [...]``, one
    object per call. Returns them, each with a ``context`` (its message, the client's stderr
    and the requests the hub received) for assertion messages; fails when the client does."""
    import subprocess
    import sys

    start = len(server.requests)
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULTS ")]
    context = (
        f"client exit code {proc.returncode}\n--- stderr ---\n{proc.stderr[-4000:]}\n"
        f"--- requests the fake hub received ---\n{server.log(start)}"
    )
    assert proc.returncode == 0 and lines, context
    results: list[dict] = json.loads(lines[-1][len("RESULTS ") :])
    for result in results:
        result["context"] = f"{result.get('message', 'ok')}\n{context}"
    return results
