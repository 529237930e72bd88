package dev.weft.bench

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.selects.select

/**
 * The Kotlin peer of `ChannelBench`: the same rows with kotlinx.coroutines channels, every
 * party a coroutine on [Dispatchers.Default] (one thread per core here, as many as Weft has
 * carriers). With `-Djdk.virtualThreadScheduler.parallelism=P` set, as for the one-carrier
 * rows, the coroutines run on `Dispatchers.Default.limitedParallelism(P)` instead, so both
 * sides get the same number of threads.
 *
 * The channels live for the whole trial; each [batch] starts one coroutine per party that
 * moves its share and returns a checksum, and waits for all of them. Starting a few
 * coroutines costs microseconds, well under 0.1% of a batch of 10,000 messages.
 */
class KotlinCrew private constructor(
    private val shares: IntArray,
    private val roles: List<suspend (Int) -> Long>,
) {
    /** Runs one batch on every party and returns party 0's checksum. */
    fun batch(): Long = runBlocking(DISPATCHER) {
        roles.indices.map { k -> async { roles[k](shares[k]) } }.awaitAll()[0]
    }

    companion object {
        private val DISPATCHER: CoroutineDispatcher =
            Integer.getInteger("jdk.virtualThreadScheduler.parallelism")
                ?.let { Dispatchers.Default.limitedParallelism(it) }
                ?: Dispatchers.Default

        /** Two parties and two rendezvous channels; party 0 sends and sums the echoes. */
        @JvmStatic
        fun pingPong(values: Array<Int>, batch: Int): KotlinCrew {
            val ping = Channel<Int>(Channel.RENDEZVOUS)
            val pong = Channel<Int>(Channel.RENDEZVOUS)
            return KotlinCrew(
                intArrayOf(batch, batch),
                listOf(
                    { n ->
                        var s = 0L
                        for (i in 0 until n) {
                            ping.send(values[i and (values.size - 1)])
                            s += pong.receive()
                        }
                        s
                    },
                    { n ->
                        for (i in 0 until n) {
                            pong.send(ping.receive())
                        }
                        0L
                    },
                ),
            )
        }

        /** Producers and consumers on one buffered channel; consumers first. */
        @JvmStatic
        fun mpmc(values: Array<Int>, batch: Int, capacity: Int, producers: Int, consumers: Int): KotlinCrew {
            val ch = Channel<Int>(capacity)
            val consumer: suspend (Int) -> Long = { n ->
                var s = 0L
                for (i in 0 until n) {
                    s += ch.receive()
                }
                s
            }
            val producer: suspend (Int) -> Long = { n ->
                for (i in 0 until n) {
                    ch.send(values[i and (values.size - 1)])
                }
                0L
            }
            return KotlinCrew(
                IntArray(consumers) { batch / consumers } + IntArray(producers) { batch / producers },
                List(consumers) { consumer } + List(producers) { producer },
            )
        }

        /**
         * One consumer selects a receive over `k` buffered channels, each fed by its own
         * producer. Kotlin's plain `select` (biased to the first ready clause, as Jox's), which
         * is what Kotlin code writes; `selectUnbiased` is the fair one.
         */
        @JvmStatic
        fun select(values: Array<Int>, batch: Int, k: Int, capacity: Int): KotlinCrew {
            val chs = List(k) { Channel<Int>(capacity) }
            val consumer: suspend (Int) -> Long = { n ->
                var s = 0L
                for (i in 0 until n) {
                    s += select<Int> {
                        for (c in chs) {
                            c.onReceive { it }
                        }
                    }
                }
                s
            }
            return KotlinCrew(
                intArrayOf(batch) + IntArray(k) { batch / k },
                listOf(consumer) + chs.map { c ->
                    val producer: suspend (Int) -> Long = { n ->
                        for (j in 0 until n) {
                            c.send(values[j and (values.size - 1)])
                        }
                        0L
                    }
                    producer
                },
            )
        }
    }
}
