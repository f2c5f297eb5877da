#!/usr/bin/env python
import os
import sys

#: Commands that touch neither the database nor the cache: they start no embedded server. Any
#: other command starts them first (the embedded database backend would also start them on a first
#: connection, but the cache may be used before the database).
NO_SERVICES = {"help", "version", "--help", "-h", "--version", "check", "collectstatic", "compilemessages",
               "makemessages", "makemigrations", "diffsettings", "startapp", "startproject",
               # restores into an empty data directory: starting its server first would fill it
               "restore"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    if len(sys.argv) > 1 and sys.argv[1] not in NO_SERVICES:
        from cdp import embedded

        embedded.start()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
