/**
 * Weft's demo programs. {@link dev.weft.demo.Main} is the README's main job: it starts
 * {@link dev.weft.demo.JobService}, a jobs service over HTTP stored in SQLite; with the
 * argument {@code first-look} it runs {@link dev.weft.demo.FirstLook}, a printed tour.
 */
module dev.weft.demo {
    requires dev.weft;
    requires dev.weft.console;
    requires org.eclipse.jetty.server;
    requires java.net.http;
    requires java.sql;
    requires org.xerial.sqlitejdbc;
    requires com.fasterxml.jackson.core;
}
