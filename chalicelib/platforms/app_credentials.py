"""Which platforms need credentials of openpost's own app there, and their names.

Most platforms are connected with what the user brings (an app password, a bot token, a webhook).
Some need the deployment to be a registered app of theirs: X's OAuth 2.0 needs our client id and
secret to send users to its consent screen and to exchange and refresh their tokens.

Each platform listed here gets one AWS Secrets Manager secret in the deployment (infrastructure/
stack.py), holding a JSON object with exactly these names; the functions read it at run time
(chalicelib/data/app_secrets.py). Declaring them is all it takes to give a platform a secret.
Each platform declares the names itself (``app_credentials`` of its descriptor, in
chalicelib/platforms/<name>/); this is the table the stack and the secret reader share.
"""

from __future__ import annotations

from chalicelib.platforms import registry

# platform name -> the names of the app credentials it needs, all of them required.
APP_CREDENTIALS: dict[str, tuple[str, ...]] = {
    item.name: item.app_credentials for item in registry.descriptors() if item.app_credentials
}
