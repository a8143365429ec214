# nbgrader settings for the course's JupyterLab: none. The homework's settings are in homework/nbgrader_config.py,
# which `./course release | grade` use. This file is copied into .venv/etc/jupyter/ by set-up so that nbgrader's
# server extension finds a config file and does not print "No nbgrader_config.py file found" at every start.
