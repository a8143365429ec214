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
#   NLU_HUB_PERSIST     "1": each user's notebooks folder on a named volume <prefix>-notebooks-<user>, which Docker and
#                       podman seed from the image's notebooks/ when it is new (students' work survives a restart)
#   NLU_HUB_CPU_LIMIT, NLU_HUB_MEM_LIMIT   per-server limits, e.g. 2 and 3G (hub/README.md, "Resources per user");
#                       unset in the smoke test (podman on cgroups v1 "hybrid" machines cannot apply them)
#
# A class on one machine uses this file as it is, with the environment set and, in place of the dummy
# authenticator, the university's (hub/README.md, "One machine").
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
volumes = {}
if env("NLU_HUB_EXCHANGE"):
    volumes[env("NLU_HUB_EXCHANGE")] = "/srv/nbgrader/exchange"
if env("NLU_HUB_PERSIST") == "1":
    volumes[env("NLU_HUB_NAME_PREFIX", "jupyter") + "-notebooks-{username}"] = "/home/jovyan/nlu-course/notebooks"
c.DockerSpawner.volumes = volumes
if env("NLU_HUB_CPU_LIMIT"):
    c.DockerSpawner.cpu_limit = float(env("NLU_HUB_CPU_LIMIT"))
if env("NLU_HUB_MEM_LIMIT"):
    c.DockerSpawner.mem_limit = env("NLU_HUB_MEM_LIMIT")

# Students' servers run without nbgrader's formgrader (the instructor's grading pages and API): it would show them
# nothing of the course, but it has no place there. Command-line settings beat the extension's enable file.
NO_FORMGRADER = "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=False"


def instructor_or_student(spawner):
    """The course folder (solutions, gradebook) and the formgrader go to admins' servers only."""
    if spawner.user.admin:
        if env("NLU_HUB_INSTRUCTOR_HOMEWORK"):
            spawner.volumes = {**spawner.volumes, env("NLU_HUB_INSTRUCTOR_HOMEWORK"): "/home/jovyan/nlu-course/homework"}
    elif NO_FORMGRADER not in spawner.args:
        spawner.args = [*spawner.args, NO_FORMGRADER]


c.Spawner.pre_spawn_hook = instructor_or_student

# A class's own settings on top (the university's authenticator, the class list, admins, TLS), e.g.
# -e NLU_HUB_EXTRA_CONFIG=/srv/jupyterhub/class_config.py with that file mounted into the hub's container.
if env("NLU_HUB_EXTRA_CONFIG"):
    load_subconfig(env("NLU_HUB_EXTRA_CONFIG"))  # noqa: F821 (provided by traitlets)
