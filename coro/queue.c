/* TODO: queue */
