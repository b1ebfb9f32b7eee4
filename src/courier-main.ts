/**
 * The delivery process (app/courier-process.ts): signs SETs and makes the requests of deliveries
 * for the server that started it, at the nice value the server passes (DELIVERY_NICE), which the
 * threads it starts inherit.
 */
import { setPriority } from "node:os";
import { serveCourier } from "./app/courier-process.js";

setPriority(Number(process.argv[2]));
serveCourier();
