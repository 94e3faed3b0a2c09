"""What task code asks of the cluster while it runs (`Variable.get`,
`BaseHook.get_connection`, `ti.xcom_pull` of any task): one JSON request per
connection to the worker's Unix socket for this attempt
(`$KAIROS_TASK_API`), which asks the cluster under the attempt's own
credentials. Reading a DAG file has no such socket: there the question is an
error that says where to ask it instead."""

import json
import os
import socket


class TaskApiError(RuntimeError):
    pass


def call(op, **fields):
    """The worker's answer to `op` (a dict), or TaskApiError with its reason."""
    path = os.environ.get("KAIROS_TASK_API")
    if not path:
        raise TaskApiError(
            "%s works only inside task code that a Kairos worker runs, not while a DAG file "
            "is read (Kairos reads DAG files without the cluster): move it into the task, or "
            "use a template such as {{ var.value.KEY }}" % _what(op, fields))
    request = json.dumps(dict(fields, op=op)).encode("utf-8") + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = json.loads(b"".join(chunks).decode("utf-8") or "{}")
    if answer.get("error"):
        raise TaskApiError(answer["error"])
    return answer


def _what(op, fields):
    if op == "variable.get":
        return "Variable.get(%r)" % fields.get("key")
    if op == "variable.set":
        return "Variable.set(%r, ...)" % fields.get("key")
    if op == "connection.get":
        return "BaseHook.get_connection(%r)" % fields.get("conn_id")
    return "ti.xcom_pull(task_ids=%r)" % fields.get("task_id")
