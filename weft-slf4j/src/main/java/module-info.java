/**
 * Weft's bridge to SLF4J: {@link dev.weft.slf4j.MdcBridge} carries the MDC of the forking
 * code into every task Weft forks.
 */
module dev.weft.slf4j {
    requires transitive dev.weft; // MdcBridge implements dev.weft.ThreadContextBridge
    requires org.slf4j;

    exports dev.weft.slf4j;
}
