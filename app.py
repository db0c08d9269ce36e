"""openpost's Lambda entry points: the HTTP API and the workers.

Every function Chalice deploys loads this module, so it stays light: blueprints register routes, and
each worker imports its implementation on first invocation. Nothing here does work of its own.
"""

from chalice import Chalice

from chalicelib.api import analytics, api_keys, connect, edges, integrations, media, meta, posts
from chalicelib.api import webhooks as webhook_endpoints
from chalicelib.api.routing import install_middleware

app = Chalice(app_name="openpost")
install_middleware(app)

app.register_blueprint(meta.blueprint)
app.register_blueprint(api_keys.blueprint)
app.register_blueprint(integrations.blueprint)
app.register_blueprint(posts.blueprint)
app.register_blueprint(media.blueprint)
app.register_blueprint(connect.blueprint)
app.register_blueprint(webhook_endpoints.blueprint)
app.register_blueprint(analytics.blueprint)
# Last: every path also answers the methods it lacks (405) and OPTIONS (CORS preflight).
edges.install(app)


@app.lambda_function(name="dispatcher")
def dispatcher(event, context):
    from chalicelib.workers import dispatcher as worker

    return worker.handle(event, context)


@app.lambda_function(name="publisher")
def publisher(event, context):
    from chalicelib.workers import publisher as worker

    return worker.handle(event, context)


@app.lambda_function(name="reconciler")
def reconciler(event, context):
    from chalicelib.workers import reconciler as worker

    return worker.handle(event, context)


@app.lambda_function(name="verifier")
def verifier(event, context):
    from chalicelib.workers import verifier as worker

    return worker.handle(event, context)


@app.lambda_function(name="webhooks")
def webhooks(event, context):
    from chalicelib.workers import webhooks as worker

    return worker.handle(event, context)


@app.lambda_function(name="analytics_planner")
def analytics_planner(event, context):
    from chalicelib.workers import analytics_planner as worker

    return worker.handle(event, context)


@app.lambda_function(name="analytics_refresh")
def analytics_refresh(event, context):
    from chalicelib.workers import analytics_refresh as worker

    return worker.handle(event, context)
