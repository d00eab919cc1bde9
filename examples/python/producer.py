"""producer.py: a courier node serving one method, work(context), which
returns its context (Launchpad's consumer_producers example, in Python)."""
import lpd


class Producer:
    def work(self, context):
        return context


if __name__ == "__main__":
    lpd.node_main(Producer)
