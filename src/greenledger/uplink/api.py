"""Uplink API (mounted at /api/uplink/): the regulator pushes control measures here.

``POST /api/uplink/instructions`` takes one instruction (see ``uplink.instructions``) or
``{"instructions": [...]}``. There is no user or token: the request must carry the generic
profile's signature headers (``X-App-Id``, ``X-Timestamp``, ``X-Nonce``, ``X-Sign``), made with
the key of an enabled platform with that app id and verified with the platform's public key on
file. The reply is the acknowledgement (signed with our key, like our requests), so the regulator
knows the instruction arrived and whether it could be applied.
"""

import json

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from ninja import Router

from greenledger.api import one_error

from . import instructions, signing
from .models import Platform

router = Router(tags=["uplink"])


def _json(status, body, signer=None):
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    response = HttpResponse(data, status=status, content_type="application/json; charset=utf-8")
    if signer is not None:
        for name, value in signing.sign_reply(signer, status, data).items():
            response[name] = value
    return response


def _verified_platform(request):
    app_id = request.headers.get("X-App-Id", "")
    query = {k: v for k, v in request.GET.items()}
    for platform in Platform.objects.filter(app_id=app_id, enabled=True).select_related("site"):
        sign_type = signing.SM2 if platform.sm2 else signing.RSA2
        try:
            verifier = signing.signer_for(sign_type, None, platform.platform_public_key)
            signing.verify_request(verifier, method=request.method, path=request.path, query=query,
                                   headers=request.headers, body=request.body)
        except (signing.BadSignature, ValueError):
            continue
        return platform
    return None


@router.post("/instructions", auth=None, response={200: dict, 401: dict, 422: dict},
             summary="A control measure pushed by the regulator (signed)")
def push_instruction(request):
    platform = _verified_platform(request)
    if platform is None:
        return _json(401, one_error("The signature does not verify with any enabled platform's key.", "signature"))
    try:
        payload = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return _json(422, one_error("The body is not JSON.", "json"))
    batch = payload.get("instructions") if isinstance(payload, dict) and "instructions" in payload else [payload]
    try:
        our_signer = signing.signer_for(signing.SM2 if platform.sm2 else signing.RSA2,
                                        signing.resolve_secret(platform.private_key_ref), None)
    except signing.SecretMissing:
        our_signer = None
    acks = []
    for raw in batch:
        if not isinstance(raw, dict):
            return _json(422, one_error("Each instruction must be an object.", "type"), our_signer)
        try:
            instruction, _created = instructions.apply(platform, raw, channel="push")
        except ValidationError as exc:
            return _json(422, {"errors": [{"field": field, "rule": "required", "message": " ".join(messages)}
                                          for field, messages in exc.message_dict.items()]}, our_signer)
        instructions.mark_acknowledged(instruction)
        acks.append(instructions.acknowledgement(instruction))
    return _json(200, {"code": 0, "data": acks if len(acks) != 1 else acks[0]}, our_signer)
