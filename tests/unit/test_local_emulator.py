"""The embedded emulator's launcher (scripts/local/emulator.py): each difference from moto it mends, over HTTP
against moto's server patched as the launcher patches it, and against the launcher itself: how it serves (one
connection for many requests, a pool of threads) and a retried write. The
CORS behaviour is also tested against the deployed stack (tests/integration/test_local_deploy.py) and in the
browser (tests/integration/test_web_app.py)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT, free_port


def emulator_client(service: str, port: int) -> Any:
    """A client of the emulator launched on 127.0.0.1:port, with the local stack's dummy credentials."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def against_patched_moto(patches: list[str], body: str) -> Any:
    """body's printed JSON, run in a process of its own (a patch is the process's) with the launcher's patches
    applied twice (each must be idempotent), against moto's server on 127.0.0.1; body gets `opts` for clients."""
    applied = "".join(f"emulator.{name}()\n" for name in patches)
    script = f"""
import json, boto3, botocore.exceptions
from moto.server import ThreadedMotoServer
from scripts.local import emulator
{applied}{applied}server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
server.start()
try:
    host, port = server.get_host_and_port()
    opts = dict(endpoint_url=f"http://{{host}}:{{port}}", region_name="us-east-1", aws_access_key_id="test",
                aws_secret_access_key="test")
{textwrap.indent(textwrap.dedent(body).strip(), "    ")}
finally:
    server.stop()
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_the_launcher_patches_the_form_handler_once_and_turns_the_blanket_cors_off() -> None:
    # In a process of its own: the patch and the setting are the process's.
    script = """
import json, os
from scripts.local import emulator
emulator.answer_form_posts_with_cors()
first = __import__("moto.s3.responses", fromlist=["S3Response"]).S3Response._bucket_response_post
emulator.answer_form_posts_with_cors()
from moto.s3.responses import S3Response
print(json.dumps({"patched": getattr(S3Response._bucket_response_post, "imgpipe_cors", False),
                  "once": S3Response._bucket_response_post is first}))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {"patched": True, "once": True}


def test_application_autoscaling_tags_are_held_per_target_as_terraform_reads_them() -> None:
    # In a process of its own (the patch is the process's), against moto's server on 127.0.0.1.
    body = """
    ecs, aas = boto3.client("ecs", **opts), boto3.client("application-autoscaling", **opts)
    ecs.create_cluster(clusterName="c")  # moto checks that the target exists
    ecs.register_task_definition(family="t", containerDefinitions=[{"name": "w", "image": "i", "memory": 512}])
    for service in ("a", "b"):
        ecs.create_service(cluster="c", serviceName=service, taskDefinition="t", desiredCount=0)
    def register(service):
        return aas.register_scalable_target(
            ServiceNamespace="ecs", ResourceId=f"service/c/{service}", ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=0, MaxCapacity=4, Tags={"project": "imgpipe", "service": service})["ScalableTargetARN"]
    first, second = register("a"), register("b")
    aas.tag_resource(ResourceARN=first, Tags={"owner": "team"})
    aas.untag_resource(ResourceARN=first, TagKeys=["service", "absent"])
    print(json.dumps({
        "first": aas.list_tags_for_resource(ResourceARN=first)["Tags"],
        "second": aas.list_tags_for_resource(ResourceARN=second)["Tags"],
        "unknown": aas.list_tags_for_resource(ResourceARN=first + "x")["Tags"],
    }))
"""
    assert against_patched_moto(["hold_application_autoscaling_tags"], body) == {
        "first": {"project": "imgpipe", "owner": "team"},
        "second": {"project": "imgpipe", "service": "b"},
        "unknown": {},
    }


def test_ecs_strategies_and_security_group_rule_descriptions_are_read_back_as_written() -> None:
    body = """
    ecs, ec2 = boto3.client("ecs", **opts), boto3.client("ec2", **opts)
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="t", containerDefinitions=[{"name": "w", "image": "i", "memory": 512}])
    mix = [{"capacityProvider": "FARGATE", "base": 1, "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 3}]
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="t", desiredCount=0, capacityProviderStrategy=mix,
                       availabilityZoneRebalancing="ENABLED")
    created = ecs.describe_services(cluster="c", services=["s"])["services"][0]
    ecs.update_service(cluster="c", service="s", capacityProviderStrategy=mix[1:])
    updated = ecs.describe_services(cluster="c", services=["s"])["services"][0]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc)["GroupId"]
    b = ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc)["GroupId"]
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    ec2.authorize_security_group_egress(GroupId=a, IpPermissions=[
        {**https, "PrefixListIds": [{"PrefixListId": "pl-1", "Description": "to s3"}]},
        {**https, "UserIdGroupPairs": [{"GroupId": b, "Description": "to endpoints"}]},
        {**https, "IpRanges": [{"CidrIp": "10.0.0.0/16", "Description": "to the vpc"}]},
    ])
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [a]}])["SecurityGroupRules"]
    print(json.dumps({
        "created": [created.get("capacityProviderStrategy"), created.get("launchType"),
                    created.get("availabilityZoneRebalancing")],
        "updated": updated.get("capacityProviderStrategy"),
        "descriptions": sorted(r["Description"] for r in rules if r.get("Description")),
    }))
"""
    assert against_patched_moto(
        ["keep_ecs_capacity_provider_strategies", "keep_security_group_rule_descriptions"], body
    ) == {
        "created": [
            [
                {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 3},
            ],
            None,
            "ENABLED",
        ],
        "updated": [{"capacityProvider": "FARGATE_SPOT", "weight": 3}],
        "descriptions": ["to endpoints", "to s3", "to the vpc"],
    }


def test_a_queue_keeps_its_policy_when_other_attributes_are_written() -> None:
    body = """
    sqs = boto3.client("sqs", **opts)
    dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    work = sqs.create_queue(QueueName="work")["QueueUrl"]
    arn = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny",
              "Principal": "*", "Action": "sqs:*", "Resource": arn(work),
              "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    sqs.set_queue_attributes(QueueUrl=work, Attributes={"Policy": json.dumps(policy)})
    sqs.set_queue_attributes(QueueUrl=work, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn(dlq), "maxReceiveCount": 5})})
    kept = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
    sqs.set_queue_attributes(QueueUrl=work, Attributes={"Policy": ""})
    emptied = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
    print(json.dumps({"kept": [json.loads(kept["Policy"])["Statement"][0]["Sid"],
                               json.loads(kept["RedrivePolicy"])["maxReceiveCount"]],
                      "emptied": "Policy" in emptied}))
"""
    assert against_patched_moto(["keep_queue_policies_across_other_attribute_writes"], body) == {
        "kept": ["DenyInsecureTransport", 5],
        "emptied": False,
    }


def test_a_send_does_not_count_the_queues_messages_and_fifo_deduplication_still_holds() -> None:
    """A send (SendMessage, a batch, S3's notification inside PutObject) reads the queue's deduplication mode
    without counting its backlog; GetQueueAttributes still counts, and a FIFO queue deduplicates as before."""
    body = """
    from moto.sqs.models import Queue
    counted = []
    count = Queue.approximate_number_of_messages
    Queue.approximate_number_of_messages = property(lambda q: counted.append(1) or count.fget(q))
    sqs, s3 = boto3.client("sqs", **opts), boto3.client("s3", **opts)
    work = sqs.create_queue(QueueName="work")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="raw")
    s3.put_bucket_notification_configuration(Bucket="raw", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    counted.clear()
    for n in range(30):
        sqs.send_message(QueueUrl=work, MessageBody=str(n))
    sqs.send_message_batch(QueueUrl=work, Entries=[{"Id": str(n), "MessageBody": "b"} for n in range(10)])
    s3.put_object(Bucket="raw", Key="a.jpg", Body=b"x")
    counted_by_sends = len(counted)
    depth = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["ApproximateNumberOfMessages"])
    fifo = sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true",
                                                           "ContentBasedDeduplication": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    strict = sqs.create_queue(QueueName="s.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=strict, MessageBody="no id", MessageGroupId="g")
        refused = None
    except botocore.exceptions.ClientError as err:
        refused = err.response["Error"]["Code"]
    print(json.dumps({
        "counted_by_sends": counted_by_sends,
        "depth": depth["Attributes"]["ApproximateNumberOfMessages"],
        "counted_by_read": len(counted) > counted_by_sends,
        "fifo": sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessages"],
        "refused": refused,
    }))
"""
    assert against_patched_moto(["send_without_counting_the_queue"], body) == {
        "counted_by_sends": 0,
        "depth": "42",  # 30 sends, a batch of 10, the notification and S3's test event
        "counted_by_read": True,
        "fifo": "1",  # the second send of the same body deduplicated
        "refused": "InvalidParameterValue",
    }


def test_requests_are_routed_without_listing_motos_package_each_time() -> None:
    """moto routes a request by host, testing it against its service packages' names; they are listed once at
    start (the same names), so no request lists the package again, and every service is still found."""
    body = """
    import os
    from moto import backends
    package = os.path.dirname(backends.__file__)
    listings = []
    listdir = os.listdir
    os.listdir = lambda path: os.path.normpath(path) == package and listings.append(path) or listdir(path)
    s3, sqs, ddb = (boto3.client(name, **opts) for name in ("s3", "sqs", "dynamodb"))
    s3.create_bucket(Bucket="routed")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    listings.clear()  # a service's first request also loads its model, listing the package once
    s3.put_object(Bucket="routed", Key="k", Body=b"x")
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    answered = [s3.get_object(Bucket="routed", Key="k")["Body"].read().decode(),
                sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"],
                ddb.describe_table(TableName="t")["Table"]["TableName"]]
    names = [name for name in sorted(listdir(package))
             if os.path.isdir(os.path.join(package, name)) and not name.startswith("__")]
    print(json.dumps({"answered": answered, "listings": len(listings),
                      "same_names": list(backends.list_of_moto_modules()) == names}))
"""
    unpatched = against_patched_moto([], body)
    patched = against_patched_moto(["list_moto_services_once"], body)
    assert unpatched["listings"] >= 5  # moto alone: at least one per request
    assert patched == {"answered": ["x", "m", "t"], "listings": 0, "same_names": True}


@contextlib.contextmanager
def launched_emulator(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The emulator as `make up` starts it (its own process, on 127.0.0.1), stopped by its PID; its port and log."""
    port = free_port()
    log_path = tmp_path / "emulator.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "scripts.local.emulator", "-H", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline and server.poll() is None, "the emulator did not start"
                    time.sleep(0.2)
            yield port, log_path
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_one_connection_carries_many_requests_and_a_long_poll_holds_up_no_other(tmp_path: Path) -> None:
    """Keep-alive: moto's own server (werkzeug's) answered every request with `Connection: close`, so each call
    paid a new TCP connection and a server thread. And a pool of threads, not one: a ReceiveMessage waiting for
    messages must not keep another client's requests waiting."""
    import http.client

    with launched_emulator(tmp_path) as (port, _log):
        sqs = emulator_client("sqs", port)
        queue = sqs.create_queue(QueueName="waits")["QueueUrl"]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        answers = []
        for _ in range(5):
            connection.request("GET", "/")
            reply = connection.getresponse()
            reply.read()
            answers.append((reply.status, reply.getheader("Connection")))
        reused = connection.sock is not None  # http.client closes its socket when told to
        connection.close()

        waited: list[float] = []

        def long_poll() -> None:
            started = time.monotonic()
            emulator_client("sqs", port).receive_message(QueueUrl=queue, WaitTimeSeconds=3)
            waited.append(time.monotonic() - started)

        polls = [threading.Thread(target=long_poll) for _ in range(4)]
        for poll in polls:
            poll.start()
        time.sleep(0.5)  # the polls are waiting in the emulator
        started = time.monotonic()
        sqs.list_queues()
        meanwhile = time.monotonic() - started
        for poll in polls:
            poll.join()
    assert answers == [(200, None)] * 5 and reused
    assert meanwhile < 1.5, meanwhile  # not behind the 3 s waits
    assert len(waited) == 4 and min(waited) >= 2.5  # and they did wait


def test_a_write_retried_after_its_reply_was_lost_is_answered_as_its_first_attempt(tmp_path: Path) -> None:
    """The emulator as `make up` starts it (its own process, on 127.0.0.1), stopped by its PID. An SDK retry is
    the same request with a higher attempt number; here the first attempt's reply is "lost" by sending the
    request botocore prepared a second time, as attempt 2."""
    import requests

    with launched_emulator(tmp_path) as (port, log):
        ec2 = emulator_client("ec2", port)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        group = ec2.create_security_group(GroupName="w", Description="w", VpcId=vpc)["GroupId"]
        sent: list[Any] = []
        ec2.meta.events.register(
            "before-send.ec2.AuthorizeSecurityGroupEgress", lambda request, **_: sent.append(request)
        )
        rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-1"}]}
        first = ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[rule])
        [request] = sent
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        assert headers["amz-sdk-request"].startswith("attempt=1")  # what the retry below changes

        def again(attempt: int, invocation: str) -> requests.Response:
            retry = {**headers, "amz-sdk-request": f"attempt={attempt}; max=3", "amz-sdk-invocation-id": invocation}
            return requests.post(request.url, data=request.body, headers=retry, timeout=30)

        retried = again(2, headers["amz-sdk-invocation-id"])
        another = again(1, "6c3f2c34-4b1e-4a8e-9a51-0d9f8e2b7a10")  # a new request: moto's own answer
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
        egress = [r for r in rules["SecurityGroupRules"] if r["IsEgress"] and r.get("PrefixListId") == "pl-1"]
        # The same for a secret, the other write a busy apply lost: a retry is the create it repeats.
        secrets = emulator_client("secretsmanager", port)
        sent.clear()
        secrets.meta.events.register(
            "before-send.secrets-manager.CreateSecret", lambda request, **_: sent.append(request)
        )
        made = secrets.create_secret(Name="team/api-keys")
        [request] = sent
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        secret_retried = again(2, headers["amz-sdk-invocation-id"])
        secret_again = again(1, "0f6c2a9e-6c9b-4a37-9f3e-3c1d2b4a5e6f")
        secret_count = len(secrets.list_secrets()["SecretList"])
    assert first["Return"] and retried.status_code == 200 and b"<return>true</return>" in retried.content
    assert another.status_code == 400 and b"InvalidPermission.Duplicate" in another.content
    assert len(egress) == 1
    assert secret_retried.status_code == 200 and secret_retried.json()["ARN"] == made["ARN"]
    assert secret_again.status_code == 400 and secret_again.json()["__type"].endswith("ResourceExistsException")
    assert secret_count == 1
    assert "replayed: attempt 2 of POST /" in log.read_text()
