def resolution_task_ended(*, task, outcome):  # filled in below
    pass
