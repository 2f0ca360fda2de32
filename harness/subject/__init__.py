"""The app under judgement (the *subject*): finding it in its folder, reading its
manifest, copying it, running its set-up, and running it sandboxed in a child process.

Named for what it holds; ``target/`` reads as build output to many tools and
global gitignore templates. Part of it runs inside the app's own process tree
(:mod:`harness.serve`, ``instrument``, ``outbound``, ``runtime``, ``sandbox``,
``zygote``...): those modules import only the standard library and the app's own
packages (:data:`harness.subject.interpreter.APP_SIDE_MODULES`).
"""
