/* TODO: waitq */
