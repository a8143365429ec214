# JupyterHub for the course on one machine: every user's server is a container of the course image, started
# through a Docker API (docker, or podman's Docker-compatible socket: `podman system service`), on the host's
# network. Used by the smoke test (hub/smoke-hub.sh); settings come from the environment so that the test can
# pick free ports and secrets:
#   NLU_HUB_IMAGE       the single-user image (hub/build.sh), default localhost/nlu-course-hub:latest
#   NLU_HUB_PORT        the public port (default 8000); the hub's and the proxy's API ports: NLU_HUB_API_PORT,
#                       NLU_HUB_PROXY_API_PORT (default 8081, 8001)
#   NLU_HUB_EXCHANGE    host folder for nbgrader's exchange (mode 1777), mounted at /srv/nbgrader/exchange
#   NLU_HUB_PASSWORD    the shared password of the test's DummyAuthenticator (a class uses a real authenticator)
#   NLU_HUB_ADMIN_TOKEN an API token with admin rights for the test (a service named "smoke")
#   NLU_HUB_INSTRUCTOR_HOMEWORK  host folder with the course's homework/ (source/ = solutions + hidden tests,
#                       nbgrader_config.py, and where the gradebook goes), owned by uid 1000; mounted into the
#                       instructor's server only
#   NLU_HUB_NAME_PREFIX prefix of the servers' container names (default "jupyter": jupyter-<user>)
import os

from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port

c = get_config()  # noqa: F821 (provided by traitlets)
env = os.environ.get

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(env("NLU_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("NLU_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%s" % env("NLU_HUB_PROXY_API_PORT", "8001")
c.JupyterHub.cleanup_servers = True

# Two accounts: the instructor (admin, nbgrader's formgrader) and a student.
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = env("NLU_HUB_PASSWORD") or None
c.Authenticator.allowed_users = {"instructor", "student"}
c.Authenticator.admin_users = {"instructor"}
if env("NLU_HUB_ADMIN_TOKEN"):
    c.JupyterHub.services = [{"name": "smoke", "api_token": env("NLU_HUB_ADMIN_TOKEN")}]
    c.JupyterHub.load_roles = [{"name": "smoke", "scopes": ["admin:users", "admin:servers", "access:servers"],
                                "services": ["smoke"]}]


class HostNetworkSpawner(DockerSpawner):
    """DockerSpawner on the host's network: each server listens on its own free port of 127.0.0.1."""

    async def start(self):
        self.port = random_port()
        return await super().start()

    async def get_ip_and_port(self):
        return "127.0.0.1", self.port


c.JupyterHub.spawner_class = HostNetworkSpawner
c.DockerSpawner.image = env("NLU_HUB_IMAGE", "localhost/nlu-course-hub:latest")
c.DockerSpawner.network_name = "host"
c.DockerSpawner.use_internal_ip = True  # no port mapping on the host network
c.DockerSpawner.remove = True
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.DockerSpawner.name_template = env("NLU_HUB_NAME_PREFIX", "jupyter") + "-{username}"
if env("NLU_HUB_EXCHANGE"):
    c.DockerSpawner.volumes = {env("NLU_HUB_EXCHANGE"): "/srv/nbgrader/exchange"}


def instructor_volumes(spawner):
    """The course folder (solutions, gradebook) goes to the instructor's server only."""
    if spawner.user.name in c.Authenticator.admin_users and env("NLU_HUB_INSTRUCTOR_HOMEWORK"):
        spawner.volumes = {**spawner.volumes, env("NLU_HUB_INSTRUCTOR_HOMEWORK"): "/home/jovyan/nlu-course/homework"}


c.Spawner.pre_spawn_hook = instructor_volumes
