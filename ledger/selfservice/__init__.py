"""Individual user credits (issue 16, source 001): subaccount users manage their own credits, org admins see
every user's credits on one screen. Views in `views`, who may do what in `rules`; money moves only through
`ledger.services.transfer_create`, each form at most once (`ledger.console_forms`)."""
