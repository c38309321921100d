"""A local stand-in for the stack's AWS state, for ``sam local`` and the tests: moto's server (DynamoDB and
Secrets Manager) with the gateway table and the token secret made from ``template.yaml``'s own
definitions, so a key-schema or GSI change in the template is what runs; there is no second schema.

Needs the test extras (``moto[server]``, ``aws-sam-translator`` for the template's YAML tags): this is
development tooling, never imported by the gateway itself.
"""

from __future__ import annotations

import fcntl
import json
import logging
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3

__all__ = [
    "DevStack",
    "create_gateway_table",
    "create_responses_bucket",
    "create_token_secret",
    "docker0_address",
    "moto_server",
    "running_moto",
]

REGION = "us-east-1"  # sam local gives functions AWS_REGION=us-east-1 unless the host has a profile
# Properties create_table understands; the rest (PITR, SSE, TTL) are separate calls or not emulated.
_TABLE_PROPERTIES = ("KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes")


def load_template(path: Path) -> dict[str, Any]:
    """template.yaml as a dict; samtranslator's parser turns !Ref/!Sub/!GetAtt into their long forms."""
    from samtranslator.yaml_helper import yaml_parse

    return cast("dict[str, Any]", yaml_parse(path.read_text()))


def docker0_address() -> str | None:
    """The host's address on Docker's default bridge: where sam local's containers reach the host."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", b"docker0"))  # SIOCGIFADDR
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


class _Serialised:
    """WSGI wrapper running one request at a time. moto's backends are not thread-safe (a
    TransactWriteItems deep-copies the table while another request mutates it: a 500), whereas real
    DynamoDB is linearisable per item. Clients stay concurrent; only moto's bookkeeping is serial."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


def moto_server(host: str, port: int) -> Any:
    """moto's threaded server (start/stop) with serialised request handling."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class SerialisedMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = _Serialised(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return SerialisedMotoServer(ip_address=host, port=port, verbose=False)


@contextmanager
def running_moto(host: str = "127.0.0.1") -> Iterator[str]:
    """The endpoint URL of a moto server on a free port of ``host``, stopped when the block ends."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    server = moto_server(host, port)
    server.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def aws(service: str, endpoint: str) -> Any:
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(s3={"addressing_style": "path"}),  # moto has no per-bucket host names
    )


def create_gateway_table(template: dict[str, Any], endpoint: str, name: str | None = None) -> str:
    """Create the table exactly as the template declares it (plus its TTL setting); returns the name."""
    props = template["Resources"]["GatewayTable"]["Properties"]
    name = name or f"ob1gw-local-{uuid.uuid4().hex[:10]}"
    client = aws("dynamodb", endpoint)
    client.create_table(TableName=name, **{k: props[k] for k in _TABLE_PROPERTIES if k in props})
    client.get_waiter("table_exists").wait(TableName=name)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return name


def create_token_secret(template: dict[str, Any], endpoint: str, name: str | None = None) -> str:
    """A secret holding the template's placeholder value; returns its ARN (what the stack outputs)."""
    placeholder = template["Resources"]["TokenSecret"]["Properties"]["SecretString"]
    name = name or f"ob1gw-local-{uuid.uuid4().hex[:10]}"
    return cast(str, aws("secretsmanager", endpoint).create_secret(Name=name, SecretString=placeholder)["ARN"])


def create_responses_bucket(template: dict[str, Any], endpoint: str, name: str | None = None) -> str:
    """The stored-responses bucket with the template's lifecycle rules (parameters at their defaults)."""
    rules = template["Resources"]["ResponsesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    name = name or f"ob1gw-local-{uuid.uuid4().hex[:10]}"
    client = aws("s3", endpoint)
    client.create_bucket(Bucket=name)
    lifecycle = {"Rules": [_s3_rule(rule, template["Parameters"]) for rule in rules]}
    client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=lifecycle)
    return name


def _s3_rule(rule: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's own shape."""
    out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    days = rule.get("ExpirationInDays")
    if isinstance(days, dict):  # {"Ref": <parameter>}
        days = parameters[days["Ref"]]["Default"]
    if days is not None:
        out["Expiration"] = {"Days": int(days)}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return out


@dataclass
class DevStack:
    """A running moto server holding one table and one secret, and the variables that point at them."""

    endpoint: str
    table_name: str
    secret_id: str
    bucket: str
    server: Any

    @classmethod
    def start(cls, template_path: Path, *, host: str, port: int) -> DevStack:
        server = moto_server(host, port)
        server.start()
        endpoint = f"http://{host}:{port}"
        template = load_template(template_path)
        table = create_gateway_table(template, endpoint, "ob1-gateway-local")
        secret = create_token_secret(template, endpoint, "ob1-gateway-local/ob1-token")
        bucket = create_responses_bucket(template, endpoint, "ob1-gateway-local-responses")
        return cls(endpoint, table, secret, bucket, server)

    def stop(self) -> None:
        self.server.stop()

    def add_secret(self, name: str, value: str) -> str:
        """One more secret in this stack (the web search provider's key, as the template makes it); its ARN."""
        return cast(str, aws("secretsmanager", self.endpoint).create_secret(Name=name, SecretString=value)["ARN"])

    def cli_env(self) -> dict[str, str]:
        """What ``ob1gw`` needs to administer this stack (login, keys, usage)."""
        return {
            "OB1GW_BACKEND": "aws",
            "OB1GW_AWS_ENDPOINT_URL": self.endpoint,
            "OB1GW_SECRET_ID": self.secret_id,
            "OB1GW_TABLE_NAME": self.table_name,
            "OB1GW_RESPONSES_BUCKET": self.bucket,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def sam_env(self, **variables: str) -> dict[str, dict[str, str]]:
        """sam local's ``--env-vars`` document: every function points at this stack (and ``variables``)."""
        shared = {k: v for k, v in self.cli_env().items() if k.startswith("OB1GW_") and k != "OB1GW_BACKEND"}
        return {"Parameters": {**shared, **variables}}

    def write(self, env_file: Path, shell_file: Path, **variables: str) -> None:
        env_file.write_text(json.dumps(self.sam_env(**variables), indent=2) + "\n")
        shell_file.write_text("".join(f"export {k}={v}\n" for k, v in self.cli_env().items()))
