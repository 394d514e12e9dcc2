"""The `tfguard` subcommands, each a module with `register(subparsers)`; loaded by `tfguard.cli`.
Each imports what it runs only when it runs, so `tfguard inspect` never pays for the webhook."""
