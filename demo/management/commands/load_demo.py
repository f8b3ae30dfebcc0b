from django.core.management.base import BaseCommand

from demo import services


class Command(BaseCommand):
    help = "Load the demo organisations (once) and print their logins."

    def handle(self, *args, **options) -> None:
        already = services.demo_is_loaded()
        organisations = services.load_demo()
        verb = "already loaded" if already else "loaded"
        self.stdout.write(f"Demo {verb}: {len(organisations)} organisations.")
        self.stdout.write("")
        self.stdout.write("Logins (all with the same password):")
        for login in services.demo_logins():
            self.stdout.write(f"  {login.username:<24} {login.password}   {login.what}")
        self.stdout.write("")
        self.stdout.write("API keys (read and write; docs/api.md, /api/docs/):")
        for name, secret in services.demo_api_keys():
            self.stdout.write(f"  {name:<24} {secret}")
