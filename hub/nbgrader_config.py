# nbgrader for every user of the hub image (installed as /etc/jupyter/nbgrader_config.py): one course, one exchange
# folder shared by all servers (the hub mounts it at /srv/nbgrader/exchange, mode 1777). The instructor's course
# folder (homework/, with its own nbgrader_config.py) is mounted into the instructor's server only: the image
# itself carries no homework/source/ (solutions and hidden tests), see Containerfile.dockerignore.
c = get_config()  # noqa: F821 (provided by traitlets)
c.Exchange.root = "/srv/nbgrader/exchange"
c.CourseDirectory.course_id = "nlu-course"
