/**
 * Weft's live console: a small web page showing the task tree as it changes.
 * See {@link dev.weft.console.Console}.
 */
module dev.weft.console {
    requires transitive dev.weft;
    requires transitive org.eclipse.jetty.server;

    exports dev.weft.console;
}
