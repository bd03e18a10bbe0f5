/* TODO: sem */
