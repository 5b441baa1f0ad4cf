"""Message authentication with a KMS HMAC key: the key material never leaves KMS, so no secret lives in code,
state, environment or logs, and KMS's key policy says who may sign."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

ALGORITHM = "HMAC_SHA_256"


class KmsMac:
    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    def sign(self, message: bytes) -> bytes:
        response = self._client.generate_mac(KeyId=self._key_id, Message=message, MacAlgorithm=ALGORITHM)
        return bytes(response["Mac"])

    def verify(self, message: bytes, mac: bytes) -> bool:
        try:
            response = self._client.verify_mac(KeyId=self._key_id, Message=message, Mac=mac, MacAlgorithm=ALGORITHM)
        except ClientError as err:
            if err.response["Error"]["Code"] in ("KMSInvalidMacException", "ValidationException"):
                return False
            raise
        return bool(response.get("MacValid"))
