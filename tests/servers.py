"""Throwaway servers for fault tests: a Redis, a PostgreSQL cluster and gunicorn, started and stopped by the test.

Everything listens on loopback only, on ports of its own (never the shared PostgreSQL or Redis),
and is stopped when the test (or `make chaos`) ends.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `predicate` until it is true; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout} s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """A redis-server of our own: stop, start, freeze (SIGSTOP) and thaw it at will."""

    def __init__(self, port: int):
        self.port, self.process = port, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> "RedisServer":
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: a Redis of an earlier run is still up?")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--loglevel", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 10, "redis-server")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)


class PostgresCluster:
    """A PostgreSQL cluster in a temporary directory (initdb), trust auth on loopback."""

    def __init__(self, port: int):
        self.port = port
        self.datadir = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.url = f"postgres://postgres@127.0.0.1:{port}/creditsite"

    def _ctl(self, *args, check=True):
        return subprocess.run([str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), *args], check=check,
                              capture_output=True, text=True, user=self._user())

    @staticmethod
    def _user():
        return "postgres" if os.geteuid() == 0 else None

    def init(self) -> "PostgresCluster":
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: a PostgreSQL of an earlier run is still up?")
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres")
        subprocess.run([str(PG_BIN / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True, user=self._user())
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                       "fsync = off\nfull_page_writes = off\nmax_connections = 100\n")
        self.start()
        subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        "creditsite"], check=True, capture_output=True)
        return self

    def start(self) -> None:
        self._ctl("-l", str(self.datadir / "log"), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "30", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        """`fast` rolls back open transactions and closes sessions; `immediate` is a crash and a recovery."""
        self._ctl("-m", mode, "-w", "-t", "60", "-l", str(self.datadir / "log"), "restart")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)


def server_env(database_url: str, redis_url: str, **extra) -> dict:
    """The environment of a production-like process (creditsite.settings, DEBUG off, plain HTTP on loopback)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO_"))}
    env.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "creditsite.settings",
                "DEBUG": "false", "SECURE_SSL_REDIRECT": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECRET_KEY": "fault-tests-only-" + "x" * 40, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
                # the fault tests log staff in with a password: the second factor and login lockout have their own tests
                "ADMIN_REQUIRE_OTP": "false", "ADMIN_LOGIN_THROTTLE": "false"})
    env.pop("CI", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Gunicorn:
    """gunicorn serving creditsite.wsgi on a loopback port with the production settings
    (creditsite/gunicorn.conf.py: threaded workers, metrics hooks); its workers can be SIGKILLed."""

    def __init__(self, port: int, env: dict, workers: int = 2, log: Path | None = None, preload: bool = True):
        self.port, self.workers, self.process, self.preload = port, workers, None, preload
        # Its own metrics directory: the config empties it at start, which must not touch another server's.
        self.env = {"PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="gunicorn-metrics-"), **env}
        self.log = log or Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])

    def start(self) -> "Gunicorn":
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken")
        self._log_file = open(self.log, "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "creditsite/gunicorn.conf.py", "creditsite.wsgi",
             "-w", str(self.workers), "-b",
             f"127.0.0.1:{self.port}", "--timeout", "60", "--graceful-timeout", "5",
             "--no-control-socket", *(["--preload"] if self.preload else [])],
            cwd=ROOT, env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT)
        wait_for(lambda: self._answers(), 60, f"gunicorn on {self.port}", interval=0.3)
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; its log:\n{self.log.read_text()[-3000:]}")
        try:
            status, _, _ = request(self.port, "GET", "/api/v1/health", timeout=5)
        except OSError:
            return False
        return status in (200, 503)

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None
            self._log_file.close()


def request(port: int, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 30):
    """One HTTP request on a fresh connection: (status, headers, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})} if data else dict(headers or {})
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def platform_token(name: str, scopes: list[str], **kwargs) -> str:
    """A service token for every org (with the explicit all-orgs flag where tokens are org-scoped); its plain text."""
    import inspect

    from apiauth.services import service_token_create

    parameters = inspect.signature(service_token_create).parameters
    every_org = {flag: True for flag in ("all_organizations", "all_orgs") if flag in parameters}
    return service_token_create(name=name, scopes=scopes, **every_org, **kwargs)[1]
