"""The command-centre dashboard (Dash): pages/ one file per page, components/ shared parts."""
